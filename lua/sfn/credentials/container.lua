--- Container credentials (ECS task roles, EKS Pod Identity):
-- AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2) or
-- AWS_CONTAINER_CREDENTIALS_FULL_URI (https anywhere; http only to loopback,
-- 169.254.170.2, 169.254.170.23 or fd00:ec2::23), with the Authorization
-- header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read every time)
-- or AWS_CONTAINER_AUTHORIZATION_TOKEN. 2 s timeout, 3 attempts.
-- @module sfn.credentials.container
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"

local M = { name = "container" }

M.BASE = "http://169.254.170.2"
M.TIMEOUT = 2
M.ATTEMPTS = 3
M.SLEEP = 1

local ALLOWED_HOSTS = {
  ["169.254.170.2"] = true, ["169.254.170.23"] = true, ["fd00:ec2::23"] = true,
  ["localhost"] = true, ["::1"] = true,
}

--- scheme and host (brackets removed) of a URL.
function M.url_host(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return nil end
  rest = rest:gsub("^.*@", "")
  local host = rest:match("^%[([^%]]+)%]") or rest:match("^([^:]*)")
  return scheme:lower(), host and host:lower()
end

--- Whether a FULL_URI may be used (botocore's _check_if_whitelisted_host).
function M.allowed(url)
  local scheme, host = M.url_host(url)
  if scheme == "https" then return host ~= nil and host ~= "" end
  if scheme ~= "http" or not host then return false end
  if ALLOWED_HOSTS[host] then return true end
  local a, b, c, d = host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a and tonumber(a) == 127 and tonumber(b) < 256 and tonumber(c) < 256 and tonumber(d) < 256 then
    return true
  end
  return false
end

local function auth_header(ctx)
  local getenv = ctx.getenv
  local file = util.nonempty(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
  local token
  if file then
    local text, err = util.read_file(file)
    if not text then
      util.fail("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE cannot be used: " .. err)
    end
    token = text
  else
    token = util.nonempty(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
  end
  if token and token:find("[\r\n]") then
    util.fail("the container authorization token holds a CR or LF")
  end
  return token
end

function M.load(ctx)
  local getenv = ctx.getenv
  local rel = util.nonempty(getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
  local full = util.nonempty(getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
  local url
  if rel then
    url = M.BASE .. rel
  elseif full then
    if not M.allowed(full) then
      util.fail("AWS_CONTAINER_CREDENTIALS_FULL_URI must use https, or http to a loopback address, "
        .. "169.254.170.2, 169.254.170.23 or fd00:ec2::23")
    end
    url = full
  else
    return nil, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set"
  end
  local last
  for attempt = 1, M.ATTEMPTS do
    local headers = { Accept = "application/json" }
    local token = auth_header(ctx) -- re-read on every attempt
    if token then headers.Authorization = token end
    local ok, status, _, body = pcall(ctx.http, {
      method = "GET", url = url, headers = headers,
      timeout = M.TIMEOUT, connect_timeout = M.TIMEOUT,
    })
    if ok and status == 200 then
      local j = require("sfn.core").json_decode(body)
      if type(j) ~= "table" or type(j.AccessKeyId) ~= "string" or type(j.SecretAccessKey) ~= "string" then
        last = "reply is not a credentials JSON object"
      else
        local exp = j.Expiration and util.parse_time(j.Expiration)
        if j.Expiration and not exp then util.fail("container credentials: unreadable Expiration") end
        return {
          access_key_id = j.AccessKeyId, secret_access_key = j.SecretAccessKey,
          session_token = j.Token, expiration = exp,
        }
      end
    elseif ok then
      last = "HTTP " .. tostring(status)
    else
      last = errors.is_error(status) and (status.code .. ": " .. tostring(status.message)) or "request failed"
    end
    if attempt < M.ATTEMPTS then ctx.sleep(M.SLEEP) end
  end
  util.fail(("container credentials from %s failed after %d attempts: %s"):format(
    rel and "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" or "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    M.ATTEMPTS, util.excerpt(last, 300)))
end

return M

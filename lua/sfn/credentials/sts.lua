--- A minimal STS client for the providers: AssumeRole (signed with
-- core.sign) and AssumeRoleWithWebIdentity (unsigned), form-encoded Query
-- requests asking for JSON; XML replies (STS's documented format) are read
-- by core.parse_sts_xml (libexpat).
-- @module sfn.credentials.sts
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"
local endpoints = require "sfn.endpoints"

local sts = {}

sts.VERSION = "2011-06-15"
sts.TIMEOUT = 10
sts.CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"

local function pct(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- application/x-www-form-urlencoded body, keys sorted.
function sts.form(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = pct(k) .. "=" .. pct(params[k]) end
  return table.concat(parts, "&")
end

--- The STS endpoint URL and signing region for a context.
function sts.endpoint(ctx)
  local url = util.configured_endpoint(ctx, "sts")
  if url then return url, ctx.region or "us-east-1" end
  local mode = util.setting(ctx, "AWS_STS_REGIONAL_ENDPOINTS", "sts_regional_endpoints") or "regional"
  mode = mode:lower()
  if mode ~= "regional" and mode ~= "legacy" then
    errors.raise("ConfigError", "AWS_STS_REGIONAL_ENDPOINTS must be \"regional\" or \"legacy\"")
  end
  return endpoints.sts {
    region = ctx.region, use_fips = ctx.use_fips, use_dual_stack = ctx.use_dual_stack,
    regional_endpoints = mode,
  }
end

local function host_of(url)
  local scheme, authority = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  authority = authority:gsub("^.*@", "")
  scheme = scheme:lower()
  local port = authority:match(":(%d+)$")
  if (scheme == "https" and port == "443") or (scheme == "http" and port == "80") then
    authority = authority:sub(1, -(#port + 2))
  end
  return authority:lower()
end

local function path_of(url)
  local path = url:match("^%a[%w+.-]*://[^/?#]*([^?#]*)")
  if path == nil or path == "" then path = "/" end
  return path
end

-- Reads a JSON or XML STS reply into credentials or an error description.
local function read_reply(action, status, headers, body)
  local core = require "sfn.core"
  local ctype = headers and headers["content-type"] or ""
  local looks_json = ctype:find("json", 1, true) or body:match("^%s*{")
  if looks_json then
    local j = core.json_decode(body)
    if type(j) ~= "table" then return nil, { message = "unreadable JSON reply" } end
    local result = type(j[action .. "Response"]) == "table" and j[action .. "Response"][action .. "Result"]
    local c = type(result) == "table" and result.Credentials
    if status == 200 and type(c) == "table" then
      return {
        access_key_id = c.AccessKeyId, secret_access_key = c.SecretAccessKey,
        session_token = c.SessionToken, expiration = util.parse_time(c.Expiration),
      }
    end
    local e = j.Error or (type(j.ErrorResponse) == "table" and j.ErrorResponse.Error)
    if type(e) == "table" then
      return nil, { code = e.Code, message = e.Message }
    end
    return nil, { message = "reply holds no Credentials" }
  end
  local x, err = core.parse_sts_xml(body)
  if not x then return nil, { message = err } end
  if x.error_code then return nil, { code = x.error_code, message = x.error_message } end
  if status ~= 200 then return nil, { message = "HTTP " .. status } end
  return {
    access_key_id = x.access_key_id, secret_access_key = x.secret_access_key,
    session_token = x.session_token, expiration = x.expiration,
  }
end

--- Calls an STS action.
-- @tparam table ctx the provider context
-- @tparam string action "AssumeRole" | "AssumeRoleWithWebIdentity"
-- @tparam table params the action's parameters
-- @tparam[opt] table creds the source credentials (nil: unsigned)
-- @treturn table credentials
-- @raise CredentialsError
function sts.call(ctx, action, params, creds)
  local url, signing_region = sts.endpoint(ctx)
  local form = { Action = action, Version = sts.VERSION }
  for k, v in pairs(params) do form[k] = v end
  local body = sts.form(form)
  local headers = { ["Content-Type"] = sts.CONTENT_TYPE, Accept = "application/json" }
  if creds then
    local core = require "sfn.core"
    local sign = ctx.sign or core.sign
    if not sign then util.fail("STS " .. action .. ": no SigV4 signer (core.sign) available") end
    local signed = sign {
      method = "POST", path = path_of(url), query = "",
      headers = { { "host", host_of(url) }, { "content-type", sts.CONTENT_TYPE } },
      body = body,
      access_key_id = creds.access_key_id, secret_access_key = creds.secret_access_key,
      session_token = creds.session_token,
      region = signing_region, service = "sts", timestamp = ctx.now(),
    }
    for _, h in ipairs(signed.headers or {}) do
      if h[1]:lower() ~= "host" then headers[h[1]] = h[2] end
    end
    if not signed.headers and signed.authorization then headers.Authorization = signed.authorization end
  end
  local ok, status, rheaders, rbody = pcall(ctx.http, {
    method = "POST", url = url, headers = headers, body = body,
    timeout = sts.TIMEOUT, connect_timeout = sts.TIMEOUT, ca_file = ctx.ca_file,
  })
  -- what STS may echo back: the source credentials, the web identity token
  local secrets = { creds and creds.secret_access_key, creds and creds.session_token, params.WebIdentityToken }
  local function shown(text, max)
    return util.excerpt(util.redact(tostring(text or ""), secrets), max)
  end
  if not ok then
    local e = status
    util.fail(("STS %s at %s failed: %s"):format(action, url,
      errors.is_error(e) and (shown(e.code, 100) .. ": " .. shown(e.message, 300)) or "request failed"))
  end
  local c, err = read_reply(action, status, rheaders, rbody or "")
  if not c then
    util.fail(("STS %s failed (HTTP %d)%s: %s"):format(action, status,
      err.code and (" " .. shown(err.code, 100)) or "", shown(err.message, 300)))
  end
  if type(c.access_key_id) ~= "string" or type(c.secret_access_key) ~= "string" then
    util.fail(("STS %s: reply holds no usable Credentials"):format(action))
  end
  return c
end

return sts

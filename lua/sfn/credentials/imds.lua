--- EC2 instance metadata (IMDSv2 with a v1 fallback), botocore's
-- InstanceMetadataFetcher: PUT /latest/api/token, the role name, then its
-- credentials. AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT
-- (or _ENDPOINT_MODE=IPv6), AWS_METADATA_SERVICE_TIMEOUT (1 s),
-- AWS_METADATA_SERVICE_NUM_ATTEMPTS (1), AWS_EC2_METADATA_V1_DISABLED, and
-- the profile's ec2_metadata_service_endpoint(_mode),
-- metadata_service_timeout, metadata_service_num_attempts,
-- ec2_metadata_v1_disabled.
--
-- When nothing answers the connection (a laptop), the provider gives up
-- after one timeout instead of trying v1 too.
-- @module sfn.credentials.imds
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"

local M = { name = "imds" }

M.ENDPOINT = "http://169.254.169.254"
M.ENDPOINT_IPV6 = "http://[fd00:ec2::254]"
M.TOKEN_TTL = "21600"
M.ROLE_PATH = "/latest/meta-data/iam/security-credentials/"

-- A connect failure means nothing is there; a read timeout means something
-- is (the v2 token may be blocked by a hop limit).
local function unreachable(err)
  if not errors.is_error(err) then return true end
  if err.code == "TimeoutError" then
    local msg = tostring(err.message)
    -- libcurl says "Operation timed out" after connecting; the cosocket
    -- transport names the step ("connecting to ...") that ran out of time
    if msg:find("timed out: ngx:", 1, true) then
      return msg:find("connecting", 1, true) ~= nil
    end
    return not msg:find("Operation timed out", 1, true)
  end
  return err.code == "TransportError"
end

function M.load(ctx)
  if util.to_bool(ctx.getenv("AWS_EC2_METADATA_DISABLED")) then
    return nil, "AWS_EC2_METADATA_DISABLED"
  end
  local base = util.setting(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "ec2_metadata_service_endpoint")
  if not base then
    local mode = util.setting(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ec2_metadata_service_endpoint_mode")
    base = (mode and mode:lower() == "ipv6") and M.ENDPOINT_IPV6 or M.ENDPOINT
  end
  base = base:gsub("/+$", "")
  local timeout = tonumber(util.setting(ctx, "AWS_METADATA_SERVICE_TIMEOUT", "metadata_service_timeout") or "1")
  local attempts = tonumber(util.setting(ctx, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", "metadata_service_num_attempts") or "1")
  if not timeout or timeout <= 0 then util.fail("AWS_METADATA_SERVICE_TIMEOUT must be a number of seconds > 0") end
  if not attempts or attempts < 1 then util.fail("AWS_METADATA_SERVICE_NUM_ATTEMPTS must be an integer >= 1") end
  attempts = math.floor(attempts)
  local v1_disabled = util.to_bool(util.setting(ctx, "AWS_EC2_METADATA_V1_DISABLED", "ec2_metadata_v1_disabled"))

  local function request(method, path, headers)
    return pcall(ctx.http, {
      method = method, url = base .. path, headers = headers,
      timeout = timeout, connect_timeout = timeout,
    })
  end

  -- 1. the session token
  local token
  for _ = 1, attempts do
    local ok, status, _, body = request("PUT", "/latest/api/token",
      { ["x-aws-ec2-metadata-token-ttl-seconds"] = M.TOKEN_TTL })
    if ok then
      if status == 200 then token = body break end
      if status == 404 or status == 403 or status == 405 then break end
      if status == 400 then return nil, "metadata service at " .. base .. " refused the token request" end
    else
      if unreachable(status) then
        return nil, "no metadata service at " .. base
      end
      break -- read timeout: try v1
    end
  end
  if not token and v1_disabled then
    return nil, "no IMDSv2 token and IMDSv1 disabled"
  end
  local headers = token and { ["x-aws-ec2-metadata-token"] = token } or nil

  local function get(path)
    for _ = 1, attempts do
      local ok, status, _, body = request("GET", path, headers)
      if ok and status == 200 and body ~= "" then return body end
      if not ok and unreachable(status) then return nil end
    end
    return nil
  end

  -- 2. the role name, 3. its credentials
  local roles = get(M.ROLE_PATH)
  if not roles then return nil, "no instance role at " .. base end
  local role = roles:match("^%s*([^\r\n]+)")
  if not role then return nil, "no instance role at " .. base end
  role = role:gsub("%s+$", "")
  local body = get(M.ROLE_PATH .. role)
  if not body then return nil, "no credentials for the instance role" end
  local j = require("sfn.core").json_decode(body)
  if type(j) ~= "table" or type(j.AccessKeyId) ~= "string" or type(j.SecretAccessKey) ~= "string"
      or type(j.Token) ~= "string" or j.Expiration == nil then
    return nil, "the metadata service's credentials reply is incomplete"
  end
  local exp = util.parse_time(j.Expiration)
  if not exp then return nil, "the metadata service's Expiration is unreadable" end
  return {
    access_key_id = j.AccessKeyId, secret_access_key = j.SecretAccessKey,
    session_token = j.Token, expiration = exp,
  }
end

return M

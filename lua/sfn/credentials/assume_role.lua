--- AssumeRole from the profile: role_arn with source_profile (chained,
-- with cycle detection) or credential_source (Environment,
-- Ec2InstanceMetadata, EcsContainer); external_id, role_session_name,
-- duration_seconds. Profiles that also set web_identity_token_file belong
-- to the web identity provider.
-- @module sfn.credentials.assume_role
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"
local static = require "sfn.credentials.static_profile"
local sts = require "sfn.credentials.sts"

local M = { name = "assume-role" }

local function config_error(msg) errors.raise("ConfigError", msg) end

local function has_role(p)
  return type(p) == "table" and type(p.role_arn) == "string" and p.role_arn ~= ""
    and not util.nonempty(p.web_identity_token_file)
end
M.has_role = has_role

local CREDENTIAL_SOURCES = {
  Environment = "sfn.credentials.env",
  Ec2InstanceMetadata = "sfn.credentials.imds",
  EcsContainer = "sfn.credentials.container",
}

-- The credentials of a source profile that is not itself a role: botocore
-- runs the profile providers with environment variables disabled.
local function profile_chain(ctx, name)
  local sub = setmetatable({ profile_name = name }, { __index = ctx })
  local c = require("sfn.credentials.web_identity").load(sub, name, true)
  if c then return c end
  for _, mod in ipairs { "sfn.credentials.sso", "sfn.credentials.shared_file", "sfn.credentials.login",
    "sfn.credentials.process", "sfn.credentials.config_file" } do
    c = require(mod).load(sub, name)
    if c then return c end
  end
  return nil
end

--- The AssumeRole parameters of a role profile (botocore's extra_args).
-- @treturn table params
-- @treturn boolean whether RoleSessionName is the generated default
function M.params(ctx, name, p)
  local params = { RoleArn = p.role_arn }
  local default_name = not util.nonempty(p.role_session_name)
  params.RoleSessionName = util.nonempty(p.role_session_name) or ("botocore-session-" .. math.floor(ctx.now()))
  if util.nonempty(p.external_id) then params.ExternalId = p.external_id end
  if util.nonempty(p.mfa_serial) then params.SerialNumber = p.mfa_serial end
  if util.nonempty(p.duration_seconds) then
    local d = tonumber(p.duration_seconds)
    if not d or d ~= math.floor(d) or d < 900 or d > 43200 then
      config_error(("profile '%s': duration_seconds must be an integer in 900..43200"):format(name))
    end
    params.DurationSeconds = math.floor(d)
  end
  return params, default_name
end

--- The AWS CLI's cache key of an AssumeRole call (botocore's
-- BaseAssumeRoleCredentialFetcher._create_cache_key): SHA-1 hex of
-- json.dumps(args, sort_keys=True), the generated session name left out.
function M.cache_key(params, default_name)
  local keys = {}
  for k in pairs(params) do
    if k ~= "TokenCode" and not (k == "RoleSessionName" and default_name) then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local fields = {}
  for i, k in ipairs(keys) do fields[i] = { k, params[k] } end
  return require("sfn.core").sha1_hex(util.json_encode(util.object(fields)))
end

--- Credentials from an AWS CLI cache file, unless missing, unreadable or
-- within 15 minutes of expiry (botocore's CachedCredentialFetcher).
function M.read_cache(ctx, path)
  local j = util.read_json_file(path)
  local c = type(j) == "table" and j.Credentials
  if type(c) ~= "table" or type(c.AccessKeyId) ~= "string" or type(c.SecretAccessKey) ~= "string" then
    return nil
  end
  local exp = util.parse_cache_time(c.Expiration)
  if not exp or exp - ctx.now() < 15 * 60 then return nil end
  return { access_key_id = c.AccessKeyId, secret_access_key = c.SecretAccessKey,
           session_token = c.SessionToken, expiration = exp }
end

--- Writes assumed-role credentials where the AWS CLI keeps them (a failure
-- is logged: the credentials are good, the next run prompts again).
function M.write_cache(ctx, path, c, role_arn)
  if not c.expiration then return end
  local fields = {
    { "AccessKeyId", c.access_key_id }, { "SecretAccessKey", c.secret_access_key },
    { "SessionToken", c.session_token or "" }, { "Expiration", util.utc_stamp(c.expiration, "UTC") },
  }
  local account = tostring(role_arn):match("^arn:[^:]*:iam::(%d+):")
  if account then fields[#fields + 1] = { "AccountId", account } end
  local ok, err = util.write_file(path, util.json_encode(util.object { { "Credentials", util.object(fields) } }), true)
  if not ok and ctx.log then
    pcall(ctx.log, { operation = "ListMapRuns", event = "credentials",
      message = "sfn: the assumed-role credentials were not cached: " .. util.excerpt(tostring(err), 300) })
  end
end

--- The MFA code for a serial: the `mfa_code` option, called only now.
function M.mfa_code(ctx, name, serial)
  local shown = util.excerpt(serial, 200)
  if type(ctx.mfa_code) ~= "function" then
    util.fail(("profile '%s' needs an MFA code for %s (mfa_serial): pass sfn.new{ mfa_code = function(serial) "
      .. "return code end }, run the sfn command line (it prompts), or run an AWS CLI command with "
      .. "--profile %s first (sfn reuses its cached role credentials)"):format(name, shown, name))
  end
  local ok, code = pcall(ctx.mfa_code, serial)
  if not ok then
    if errors.is_error(code) then error(code, 0) end
    util.fail(("the mfa_code function raised an error for %s"):format(shown))
  end
  if type(code) == "number" and code == math.floor(code) then code = ("%06d"):format(code) end
  if type(code) ~= "string" or not code:match("^%s*%d+%s*$") then
    util.fail(("the mfa_code function must return the digits of the code for %s as a string"):format(shown))
  end
  return (code:gsub("%s", ""))
end

local function assume(ctx, name, visited)
  local profiles = ctx.files.profiles
  local p = profiles[name]
  visited[#visited + 1] = name
  local src, csrc = util.nonempty(p.source_profile), util.nonempty(p.credential_source)
  if src and csrc then
    config_error(("profile '%s' has both source_profile and credential_source"):format(name))
  end
  if not src and not csrc then
    config_error(("profile '%s' has role_arn but neither source_profile nor credential_source"):format(name))
  end
  local serial = util.nonempty(p.mfa_serial)
  local params, default_name = M.params(ctx, name, p)
  local cache_path
  if serial then
    -- like the AWS CLI: one prompt serves until the role credentials expire
    cache_path = util.home_path(ctx, ".aws/cli/cache/" .. M.cache_key(params, default_name) .. ".json")
    local cached = M.read_cache(ctx, cache_path)
    if cached then return cached end
  end
  local source
  if csrc then
    local mod = CREDENTIAL_SOURCES[csrc]
    if not mod then
      config_error(("profile '%s': unsupported credential_source '%s' (Environment, Ec2InstanceMetadata or EcsContainer)")
        :format(name, csrc))
    end
    source = require(mod).load(ctx)
    if not source then
      util.fail(("profile '%s': no credentials from credential_source %s"):format(name, csrc))
    end
  else
    local sp = profiles[src]
    if not sp then
      config_error(("source_profile '%s' referenced by profile '%s' does not exist"):format(src, name))
    end
    for _, seen in ipairs(visited) do
      if seen == src and (src ~= name or not static.has(sp)) then
        config_error("profiles form a loop: " .. table.concat(visited, " -> ") .. " -> " .. src)
      end
    end
    if static.has(sp) or not has_role(sp) then
      source = profile_chain(ctx, src)
      if not source then
        config_error(("source_profile '%s' must hold static credentials or an assume role configuration"):format(src))
      end
    else
      source = assume(ctx, src, visited)
    end
  end
  if serial then
    params.TokenCode = M.mfa_code(ctx, name, serial)
  end
  local c = sts.call(ctx, "AssumeRole", params, source)
  if cache_path then M.write_cache(ctx, cache_path, c, p.role_arn) end
  return c
end

function M.load(ctx)
  local p = ctx.files.profiles[ctx.profile_name]
  if not has_role(p) then return nil, "no role_arn in the profile" end
  return assume(ctx, ctx.profile_name, {})
end

return M

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
  if util.nonempty(p.mfa_serial) then
    util.fail(("profile '%s' needs an MFA code (mfa_serial), which sfn cannot prompt for"):format(name))
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
  local params = {
    RoleArn = p.role_arn,
    RoleSessionName = util.nonempty(p.role_session_name) or ("botocore-session-" .. math.floor(ctx.now())),
  }
  if util.nonempty(p.external_id) then params.ExternalId = p.external_id end
  if util.nonempty(p.duration_seconds) then
    local d = tonumber(p.duration_seconds)
    if not d or d ~= math.floor(d) or d < 900 or d > 43200 then
      config_error(("profile '%s': duration_seconds must be an integer in 900..43200"):format(name))
    end
    params.DurationSeconds = tostring(math.floor(d))
  end
  return sts.call(ctx, "AssumeRole", params, source)
end

function M.load(ctx)
  local p = ctx.files.profiles[ctx.profile_name]
  if not has_role(p) then return nil, "no role_arn in the profile" end
  return assume(ctx, ctx.profile_name, {})
end

return M

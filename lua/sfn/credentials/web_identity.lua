--- AssumeRoleWithWebIdentity (EKS IRSA, CI OIDC): AWS_WEB_IDENTITY_TOKEN_FILE,
-- AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME, or the profile's
-- web_identity_token_file, role_arn, role_session_name (each key: the
-- environment first, as botocore does). The token file is re-read on every
-- refresh; the call is unsigned.
-- @module sfn.credentials.web_identity
local util = require "sfn.credentials.util"
local sts = require "sfn.credentials.sts"

local M = { name = "web-identity" }

local ENV = {
  web_identity_token_file = "AWS_WEB_IDENTITY_TOKEN_FILE",
  role_arn = "AWS_ROLE_ARN",
  role_session_name = "AWS_ROLE_SESSION_NAME",
}

--- @tparam table ctx
-- @tparam[opt] string profile_name default ctx.profile_name
-- @tparam[opt] boolean no_env ignore the environment (source profiles)
function M.load(ctx, profile_name, no_env)
  profile_name = profile_name or ctx.profile_name
  local p = ctx.files.profiles[profile_name] or {}
  local function get(key)
    if not no_env then
      local v = util.nonempty(ctx.getenv(ENV[key]))
      if v then return v end
    end
    return type(p[key]) == "string" and util.nonempty(p[key]) or nil
  end
  local token_file = get("web_identity_token_file")
  if not token_file then return nil, "no web identity token file" end
  local role_arn = get("role_arn")
  if not role_arn then
    require("sfn.errors").raise("ConfigError",
      "a web identity token file is configured but no role ARN (AWS_ROLE_ARN or role_arn)")
  end
  local token, err = util.read_file(token_file)
  if not token then
    util.fail("the web identity token file cannot be used: " .. err)
  end
  return sts.call(ctx, "AssumeRoleWithWebIdentity", {
    RoleArn = role_arn,
    RoleSessionName = get("role_session_name") or ("botocore-session-" .. math.floor(ctx.now())),
    WebIdentityToken = token,
  })
end

return M

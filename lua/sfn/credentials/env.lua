--- Credentials from the environment: AWS_ACCESS_KEY_ID,
-- AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (or AWS_SECURITY_TOKEN),
-- AWS_CREDENTIAL_EXPIRATION.
-- @module sfn.credentials.env
local util = require "sfn.credentials.util"

local M = { name = "env" }

function M.load(ctx)
  local getenv = ctx.getenv
  local ak = util.nonempty(getenv("AWS_ACCESS_KEY_ID"))
  if not ak then return nil, "AWS_ACCESS_KEY_ID not set" end
  local sk = util.nonempty(getenv("AWS_SECRET_ACCESS_KEY"))
  if not sk then
    util.fail("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not (partial credentials)")
  end
  local exp = util.nonempty(getenv("AWS_CREDENTIAL_EXPIRATION"))
  if exp and not util.parse_time(exp) then
    util.fail("AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time")
  end
  return {
    access_key_id = ak,
    secret_access_key = sk,
    session_token = util.nonempty(getenv("AWS_SESSION_TOKEN")) or util.nonempty(getenv("AWS_SECURITY_TOKEN")),
    expiration = exp and util.parse_time(exp) or nil,
  }
end

return M

--- Static keys from the shared credentials file (~/.aws/credentials or
-- AWS_SHARED_CREDENTIALS_FILE), section `[NAME]`.
-- @module sfn.credentials.shared_file
local static = require "sfn.credentials.static_profile"

local M = { name = "shared-credentials-file" }

function M.load(ctx)
  local p = ctx.files.credentials_profiles[ctx.profile_name]
  if not static.has(p) then return nil, "no keys for the profile" end
  return static.load(p, ("profile '%s' in %s"):format(ctx.profile_name, ctx.files.credentials_file))
end

return M

--- Static keys from the config file (~/.aws/config or AWS_CONFIG_FILE),
-- section `[default]` or `[profile NAME]`.
-- @module sfn.credentials.config_file
local static = require "sfn.credentials.static_profile"

local M = { name = "config-file" }

function M.load(ctx)
  local p = ctx.files.config_profiles[ctx.profile_name]
  if not static.has(p) then return nil, "no keys for the profile" end
  return static.load(p, ("profile '%s' in %s"):format(ctx.profile_name, ctx.files.config_file))
end

return M

--- Static keys from one profile table (shared credentials file, config
-- file, or a source_profile): aws_access_key_id, aws_secret_access_key,
-- aws_session_token (or aws_security_token).
-- @module sfn.credentials.static_profile
local util = require "sfn.credentials.util"

local M = {}

--- Whether the profile holds static keys.
function M.has(profile)
  return type(profile) == "table" and util.nonempty(profile.aws_access_key_id) ~= nil
end

--- The keys of a profile, or nil; partial keys raise.
-- @tparam table profile
-- @tparam string where e.g. "profile 'dev' in /home/u/.aws/credentials"
function M.load(profile, where)
  if not M.has(profile) then return nil end
  local sk = util.nonempty(profile.aws_secret_access_key)
  if type(sk) ~= "string" then
    util.fail(where .. " has aws_access_key_id but no aws_secret_access_key (partial credentials)")
  end
  local tok = profile.aws_session_token
  if type(tok) ~= "string" or tok == "" then tok = profile.aws_security_token end
  if type(tok) ~= "string" or tok == "" then tok = nil end
  return {
    access_key_id = profile.aws_access_key_id,
    secret_access_key = sk,
    session_token = tok,
  }
end

return M

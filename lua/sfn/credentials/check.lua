--- The check a client needs when it is made: a credentials table's shape
-- (the providers' helpers, timestamps included, are in
-- `sfn.credentials.util`, which loads on the first fetch).
-- @module sfn.credentials.check
local errors = require "sfn.errors"

local check = {}

--- Raises a CredentialsError.
-- @tparam string msg
-- @raise always
function check.fail(msg)
  errors.raise("CredentialsError", msg)
end

--- Checks a credentials table and returns a clean copy.
-- @tparam table c
-- @tparam string where who produced it (for the message)
-- @tparam[opt] string code error code, default CredentialsError
function check.validate(c, where, code)
  code = code or "CredentialsError"
  if type(c) ~= "table" then
    errors.raise(code, where .. " must be a table of credentials, got " .. type(c))
  end
  local ak, sk, tok = c.access_key_id, c.secret_access_key, c.session_token
  if type(ak) ~= "string" or ak == "" then
    errors.raise(code, where .. ": access_key_id must be a non-empty string")
  end
  if type(sk) ~= "string" or sk == "" then
    errors.raise(code, where .. ": secret_access_key must be a non-empty string")
  end
  if tok ~= nil and type(tok) ~= "string" then
    errors.raise(code, where .. ": session_token must be a string")
  end
  if tok == "" then tok = nil end
  local exp = c.expiration
  if exp ~= nil then
    -- timestamps are parsed by sfn.credentials.util, loaded when one is given
    local t = require("sfn.credentials.util").parse_time(exp)
    if t == nil then
      errors.raise(code, where .. ": expiration must be epoch seconds or an ISO 8601 time")
    end
    exp = t
  end
  for k in pairs(c) do
    if k ~= "access_key_id" and k ~= "secret_access_key" and k ~= "session_token"
        and k ~= "expiration" and k ~= "source" then
      errors.raise(code, where .. ": unknown field " .. tostring(k))
    end
  end
  return { access_key_id = ak, secret_access_key = sk, session_token = tok,
           expiration = exp, source = c.source }
end

return check

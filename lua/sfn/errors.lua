--- Structured errors raised from Lua: the same `sfn.Error` metatable the C
-- core uses, so `sfn.is_error`, `tostring` and `pcall` treat both alike.
-- @module sfn.errors
local core = require "sfn.core"

local errors = { _VERSION = core._VERSION, Error = core.Error, is_error = core.is_error }

--- Makes an error table.
-- @tparam string code e.g. "ConfigError", "CredentialsError"
-- @tparam string message human text; never a secret
-- @tparam[opt] table fields extra fields (status, request_id, retryable, attempts)
-- @treturn table an `sfn.Error`
function errors.new(code, message, fields)
  local e = {
    code = code,
    message = message,
    retryable = false,
    attempts = 0,
    operation = "ListMapRuns",
  }
  for k, v in pairs(fields or {}) do
    e[k] = v
  end
  return setmetatable(e, core.Error)
end

--- Raises a new error (level 0: the table carries its own context).
-- @raise always
function errors.raise(code, message, fields)
  error(errors.new(code, message, fields), 0)
end

return errors

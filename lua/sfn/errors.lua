--- Structured errors raised from Lua: the same `sfn.Error` metatable the C
-- core uses, so `sfn.is_error`, `tostring` and `pcall` treat both alike.
-- @module sfn.errors
local core = require "sfn.core"

local unpack = table.unpack or unpack

local function pack(...)
  return { n = select("#", ...), ... }
end

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

--- Describes any raised value in a few words, whatever its metamethods do
-- (a `__tostring` that raises is not called twice).
-- @return v the raised value
-- @treturn string
function errors.describe(v)
  if type(v) == "string" then return v end
  if type(v) == "number" then return tostring(v) end
  local ok, text = pcall(tostring, v)
  if ok and type(text) == "string" then return text end
  return "a " .. type(v) .. " value"
end

--- Calls f(...); a raised sfn.Error passes through, anything else becomes
-- an sfn.Error with the given code whose message names what failed.
-- @tparam string code the error code for anything that is not an sfn.Error
-- @tparam string what what was called, e.g. "sfn.new: options"
-- @tparam function f the function to call
-- @param ... its arguments
-- @return what f returns
-- @raise sfn.Error
function errors.protect(code, what, f, ...)
  local result = pack(pcall(f, ...))
  if result[1] then
    return unpack(result, 2, result.n)
  end
  local err = result[2]
  if core.is_error(err) then error(err, 0) end
  errors.raise(code, what .. ": " .. errors.describe(err))
end

return errors

--- The checks a client needs when it is made: a credentials table's shape
-- and timestamps (the rest of the providers' helpers are in
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

local floor = math.floor

local function days_from_civil(y, m, d)
  y = (m <= 2) and (y - 1) or y
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Parses an ISO 8601 / RFC 3339 timestamp to epoch seconds; numbers pass
-- through (JSON STS replies carry epoch seconds).
-- @treturn number|nil
function check.parse_time(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local y, mo, d, h, mi, s, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  local frac = 0
  local f, tail = rest:match("^%.(%d+)(.*)$")
  if f then frac = tonumber("0." .. f); rest = tail end
  local offset
  if rest == "Z" or rest == "z" then
    offset = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(oh) * 3600 + tonumber(om) * 60) * (sign == "-" and -1 or 1)
  end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or s > 60 then return nil end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + frac - offset
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
    local t = check.parse_time(exp)
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

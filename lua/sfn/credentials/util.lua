--- Helpers shared by the credential providers.
-- @module sfn.credentials.util
local errors = require "sfn.errors"

local util = {}

function util.fail(msg)
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
function util.parse_time(v)
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
function util.validate(c, where, code)
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
    local t = util.parse_time(exp)
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

--- Removes the given secrets from text, whole and any fragment of 16 bytes
-- or more (a cut elsewhere may have left part of one). Call it before any
-- cut (`util.excerpt`).
function util.redact(text, secrets)
  if type(text) ~= "string" then return text end
  return require("sfn.core").redact_text(text, secrets)
end

--- A one-line, length-capped printable excerpt (for stderr, error bodies):
-- runs of control characters become one space, leading and trailing
-- whitespace goes, at most `max` bytes then "...". Linear in the text.
function util.excerpt(text, max)
  max = max or 512
  if type(text) ~= "string" then return "" end
  -- only the first max bytes after the leading whitespace can show; the
  -- slack keeps enough to tell whether "..." is due after the collapse
  local first = text:find("[^%s%c]")
  if not first then return "" end
  local stop = first + 4 * max + 64
  local cut = stop < #text
  text = text:sub(first, stop):gsub("%c+", " ")
  local last = #text
  while last > 0 and text:byte(last) == 32 do last = last - 1 end
  if last > max then
    return text:sub(1, max) .. "..."
  end
  return text:sub(1, last) .. (cut and "..." or "")
end

--- botocore's ensure_boolean.
function util.to_bool(v)
  if type(v) == "boolean" then return v end
  return type(v) == "string" and v:lower() == "true"
end

function util.nonempty(v)
  if v ~= nil and v ~= "" then return v end
  return nil
end

--- A setting from the environment, else from the context's profile.
-- @treturn string|nil
function util.setting(ctx, env_name, key)
  local v = util.nonempty(ctx.getenv(env_name))
  if v then return v end
  local p = ctx.files and ctx.files.profiles[ctx.profile_name]
  if p and type(p[key]) == "string" then return util.nonempty(p[key]) end
  return nil
end

--- The largest token file read (web identity, container authorization):
-- STS takes web identity tokens of up to 20,000 characters.
util.MAX_TOKEN_FILE_BYTES = 64 * 1024

--- Reads a whole local file through core.read_file: regular files only,
-- opened non-blocking, at most max_bytes.
-- @tparam string path
-- @tparam[opt] integer max_bytes default MAX_TOKEN_FILE_BYTES
-- @treturn[1] string the contents
-- @treturn[2] nil
-- @treturn[2] string a message naming the file, never its contents
-- @treturn[2] string "missing", "not_regular", "too_large" or "unreadable"
function util.read_file(path, max_bytes)
  if type(path) ~= "string" or path == "" or path:find("\0", 1, true) then
    return nil, "the file path must be a non-empty string without NUL bytes", "unreadable"
  end
  return require("sfn.core").read_file(path, max_bytes or util.MAX_TOKEN_FILE_BYTES)
end

return util

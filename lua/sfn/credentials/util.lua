--- Helpers shared by the credential providers.
-- @module sfn.credentials.util
local check = require "sfn.credentials.check"

local util = {}

-- Failing and the credentials check live in sfn.credentials.check (loaded
-- when a client is made); the same functions are here for the providers.
util.fail = check.fail
util.validate = check.validate

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

--- The largest credential cache file read (SSO token, login session, CLI
-- cache).
util.MAX_CACHE_FILE_BYTES = 1024 * 1024

local JSON_ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- A JSON string as Python's json.dumps writes it (ensure_ascii: every
-- non-ASCII code point as \uXXXX, surrogate pairs above U+FFFF). Bytes that
-- are not UTF-8 are written as U+FFFD.
local function json_string(s)
  local out, i, n = { '"' }, 1, #s
  while i <= n do
    local c = s:byte(i)
    if c < 0x80 then
      local ch = string.char(c)
      out[#out + 1] = JSON_ESC[ch] or (c < 0x20 and ("\\u%04x"):format(c)) or ch
      i = i + 1
    else
      local cp, len
      if c >= 0xf0 and c < 0xf5 then cp, len = c % 8, 4
      elseif c >= 0xe0 then cp, len = c % 16, 3
      elseif c >= 0xc2 and c < 0xe0 then cp, len = c % 32, 2 end
      local ok = len ~= nil and i + len - 1 <= n
      if ok then
        for k = 1, len - 1 do
          local b = s:byte(i + k)
          if b < 0x80 or b > 0xbf then ok = false break end
          cp = cp * 64 + (b % 64)
        end
      end
      if not ok then cp, len = 0xfffd, 1 end
      if cp >= 0x10000 then
        local v = cp - 0x10000
        out[#out + 1] = ("\\u%04x\\u%04x"):format(0xd800 + math.floor(v / 1024), 0xdc00 + v % 1024)
      else
        out[#out + 1] = ("\\u%04x"):format(cp)
      end
      i = i + len
    end
  end
  out[#out + 1] = '"'
  return table.concat(out)
end

--- JSON text as Python's json.dumps(obj) writes it (separators ", " and
-- ": "). Objects are `{ {key, value}, ... }` arrays of pairs (written in
-- that order) marked with `util.ordered`; strings, integers, booleans.
function util.json_encode(v)
  local t = type(v)
  if t == "string" then return json_string(v) end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v == math.floor(v) and v > -2^53 and v < 2^53 then return ("%d"):format(v) end
    return ("%.17g"):format(v)
  end
  if t == "table" and getmetatable(v) == util.ordered then
    local parts = {}
    for i, kv in ipairs(v) do parts[i] = json_string(kv[1]) .. ": " .. util.json_encode(kv[2]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  error("json_encode: unsupported value of type " .. t)
end

--- Marks an array of {key, value} pairs as a JSON object for json_encode.
util.ordered = {}
function util.object(pairs_list)
  return setmetatable(pairs_list, util.ordered)
end

--- A time as botocore writes cache timestamps: "%Y-%m-%dT%H:%M:%SZ".
function util.utc_stamp(t, suffix)
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t)) .. (suffix or "Z")
end

--- Parses a cache file timestamp: ISO 8601 as util.parse_time, and also the
-- AWS CLI's "...UTC" form (strftime %Z of a UTC time).
function util.parse_cache_time(v)
  if type(v) == "string" and v:sub(-3) == "UTC" then v = v:sub(1, -4) .. "Z" end
  return util.parse_time(v)
end

--- A JSON object from a cache file.
-- @treturn[1] table the object
-- @treturn[2] nil
-- @treturn[2] string why not ("missing" or a message naming the file)
function util.read_json_file(path)
  local text, err, kind = util.read_file(path, util.MAX_CACHE_FILE_BYTES)
  if not text then return nil, kind == "missing" and "missing" or err end
  local j = require("sfn.core").json_decode(text)
  if type(j) ~= "table" then return nil, path .. " is not a JSON object" end
  return j
end

--- Writes text to path atomically (temp file + rename, mode 0600), making
-- the directory first when `mkdir` is set.
-- @treturn[1] true
-- @treturn[2] nil
-- @treturn[2] string a message naming the file
function util.write_file(path, text, mkdir)
  local core = require "sfn.core"
  if mkdir then
    local dir = path:match("^(.*)/[^/]*$")
    if dir and dir ~= "" then
      local ok, err = core.mkdir_p(dir)
      if not ok then return nil, err end
    end
  end
  return core.write_file_atomic(path, text)
end

--- A path under the home directory (botocore's expanduser).
function util.home_path(ctx, rest)
  return require("sfn.profile").expand_path("~/" .. rest, function(k) return ctx.getenv(k) end)
end

-- Service ids as botocore names them for configured endpoints.
local SERVICE_ENV = { sts = "STS", sso = "SSO", sso_oidc = "SSO_OIDC", signin = "SIGNIN" }

--- The configured endpoint URL of a service, as botocore resolves it:
-- AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, the profile's `services`
-- section, the profile's endpoint_url; nil when none or when
-- ignore_configured_endpoint_urls is set.
-- @tparam table ctx
-- @tparam string key "sts", "sso", "sso_oidc" or "signin"
function util.configured_endpoint(ctx, key)
  if util.to_bool(util.setting(ctx, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ignore_configured_endpoint_urls")) then
    return nil
  end
  local url = util.nonempty(ctx.getenv("AWS_ENDPOINT_URL_" .. SERVICE_ENV[key]))
    or util.nonempty(ctx.getenv("AWS_ENDPOINT_URL"))
  local p = ctx.files and ctx.files.profiles[ctx.profile_name]
  if not url and p then
    local svc = type(p.services) == "string" and ctx.files.services[p.services]
    if type(svc) == "table" and type(svc[key]) == "table" then url = util.nonempty(svc[key].endpoint_url) end
    if not url and type(p.endpoint_url) == "string" then url = util.nonempty(p.endpoint_url) end
  end
  return url
end

--- Reads a JSON reply of a rest-json service: the decoded body (or nil) and
-- the error code (x-amzn-ErrorType, else the body's __type/error/code).
function util.rest_json(headers, body)
  local j = require("sfn.core").json_decode(body or "")
  if type(j) ~= "table" then j = nil end
  local code = headers and headers["x-amzn-errortype"]
  if type(code) == "string" then code = code:match("^[^:]*") end
  if not code and j then
    code = (type(j.__type) == "string" and j.__type) or (type(j.code) == "string" and j.code) or nil
    if code then code = code:match("[^#]*$") end
  end
  return j, code
end

return util

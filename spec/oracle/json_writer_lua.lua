-- The CLI's JSON writer as it was in Lua (lua/sfn/cli.lua at efcb31f), kept
-- as the reference that spec/66-json_writer_spec.lua compares the C writer
-- (sfn.core.json_string / json_object) with, and that bench/bench.lua times
-- as "before". Not used by the library.
local errors = require "sfn.errors"

-- sfn.time.iso8601 as it was in Lua (lua/sfn/time.lua at efcb31f).
local floor = math.floor

local time = {}

--- The first second formatted: 0001-01-01T00:00:00Z.
time.MIN = -62135596800
--- The first second not formatted: 10000-01-01T00:00:00Z (ISO 8601 and
-- Python's datetime, hence the AWS CLI, stop at year 9999).
time.MAX = 253402300800

-- Year, month, day of a day number (days since 1970-01-01), proleptic
-- Gregorian (Howard Hinnant's civil_from_days).
local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

--- Formats epoch seconds as ISO 8601 UTC with milliseconds (rounded to the
-- nearest millisecond).
-- @tparam number t seconds since the Unix epoch
-- @treturn string e.g. "2023-11-14T22:13:20.125Z"
-- @raise ValidationError when t is not a number, not finite, or outside
--   years 0001..9999
-- @usage print(sfn.iso8601(1700000000.125)) --> 2023-11-14T22:13:20.125Z
function time.iso8601(t)
  if type(t) ~= "number" or t ~= t or t == math.huge or t == -math.huge then
    errors.raise("ValidationError", "iso8601: expected a finite number, got "
      .. (type(t) == "number" and tostring(t) or type(t)))
  end
  if not (t >= time.MIN and t < time.MAX) then
    errors.raise("ValidationError", ("iso8601: %s is outside years 0001..9999 (%d .. %d seconds)")
      :format(tostring(t), time.MIN, time.MAX - 1))
  end
  local seconds = floor(t)
  local millis = floor((t - seconds) * 1000 + 0.5)
  if millis >= 1000 then
    seconds, millis = seconds + 1, 0
  end
  if seconds >= time.MAX then
    errors.raise("ValidationError", ("iso8601: %s is outside years 0001..9999 (%d .. %d seconds)")
      :format(tostring(t), time.MIN, time.MAX - 1))
  end
  local days = floor(seconds / 86400)
  local rem = seconds - days * 86400
  local y, m, d = civil_from_days(days)
  local h = floor(rem / 3600)
  local mi = floor((rem - h * 3600) / 60)
  local s = rem - h * 3600 - mi * 60
  return ("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"):format(y, m, d, h, mi, s, millis)
end

local iso8601 = time.iso8601

local M = { iso8601 = iso8601 }


-- What Python's json.dumps(ensure_ascii=False) escapes, spelled the same way,
-- so the output is byte for byte what the AWS CLI would print.
local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
for b = 0, 31 do
  local c = string.char(b)
  ESCAPES[c] = ESCAPES[c] or ("\\u%04x"):format(b)
end

-- A NUL in a pattern needs %z on Lua 5.1 and "\0" from 5.2 on.
local SPECIAL = "[%z\1-\31\"\\]"
do
  local ok, found = pcall(string.find, "\0", SPECIAL)
  if not (ok and found) then
    SPECIAL = "[\0-\31\"\\]"
  end
end

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- Returns s with every byte that is not part of a well-formed UTF-8 sequence
-- (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF)
-- replaced by U+FFFD, so the output is always valid JSON text.
local function valid_utf8(s)
  if not s:find("[\128-\255]") then
    return s
  end
  local out, n, i, len = {}, 0, 1, #s
  local byte = string.byte
  while i <= len do
    local c = byte(s, i)
    local size, lo, hi = 0, 0x80, 0xBF
    if c < 0x80 then
      size = 1
    elseif c >= 0xC2 and c <= 0xDF then
      size = 2
    elseif c >= 0xE0 and c <= 0xEF then
      size = 3
      if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
    elseif c >= 0xF0 and c <= 0xF4 then
      size = 4
      if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
    end
    local good = size > 0
    for k = 1, size - 1 do
      local d = byte(s, i + k)
      if not d or d < (k == 1 and lo or 0x80) or d > (k == 1 and hi or 0xBF) then
        good = false
        break
      end
    end
    n = n + 1
    if good then
      out[n] = s:sub(i, i + size - 1)
      i = i + size
    else
      out[n] = REPLACEMENT
      i = i + 1
    end
  end
  return table.concat(out)
end
M.valid_utf8 = valid_utf8

--- A JSON string literal, escaped as Python's `json.dumps(s, ensure_ascii=False)`
-- does; non-ASCII stays UTF-8 (invalid bytes become U+FFFD).
-- @tparam string s
-- @treturn string
function M.json_string(s)
  s = valid_utf8(s)
  if s:find(SPECIAL) then
    s = s:gsub(SPECIAL, ESCAPES)
  end
  return '"' .. s .. '"'
end

local json_string = M.json_string

local function json_scalar(v)
  local t = type(v)
  if t == "string" then
    return json_string(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      return "null"
    elseif v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      return ("%d"):format(v)
    end
    return ("%.17g"):format(v)
  end
  return "null"
end

-- The members of a Map Run in the service model's order, and which are dates.
M.MAP_RUN_KEYS = { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" }
local MAP_RUN_KEYS = M.MAP_RUN_KEYS
local DATE_KEYS = { startDate = true, stopDate = true }

local function indent(depth)
  return ("    "):rep(depth)
end

--- One Map Run as the AWS CLI prints it inside the `mapRuns` array: 4-space
-- indentation starting at `depth` levels, model order, dates as ISO 8601,
-- absent members (stopDate of a running Map Run) left out.
-- @tparam table run a Map Run from the library
-- @tparam[opt=0] number depth nesting level of the object
-- @treturn string no trailing newline
function M.map_run_json(run, depth)
  local pad = indent(depth or 0)
  local inner = pad .. "    "
  local parts = {}
  for _, key in ipairs(MAP_RUN_KEYS) do
    local v = run[key]
    if v ~= nil then
      if DATE_KEYS[key] and type(v) == "number" then
        v = iso8601(v)
      end
      parts[#parts + 1] = inner .. '"' .. key .. '": ' .. json_scalar(v)
    end
  end
  if #parts == 0 then
    return pad .. "{}"
  end
  return pad .. "{\n" .. table.concat(parts, ",\n") .. "\n" .. pad .. "}"
end

-- The members of DescribeMapRun's output, of its counts and of an
-- ExecutionListItem, in the service model's order.
M.DESCRIBE_KEYS = { "mapRunArn", "executionArn", "status", "startDate", "stopDate", "maxConcurrency",
  "toleratedFailurePercentage", "toleratedFailureCount", "itemCounts", "executionCounts", "redriveCount",
  "redriveDate" }
M.COUNT_KEYS = { "pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
  "resultsWritten", "failuresNotRedrivable", "pendingRedrive" }
M.EXECUTION_KEYS = { "executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate",
  "mapRunArn", "itemCount", "stateMachineVersionArn", "stateMachineAliasArn", "redriveCount", "redriveDate" }
-- Members whose model type is a float: the AWS CLI prints 5.0, not 5.
local FLOAT_KEYS = { toleratedFailurePercentage = true }

--- An object as the AWS CLI prints it: `keys` in order (absent ones left
-- out), members ending in "Date" as ISO 8601, nested objects (the counts)
-- in `M.COUNT_KEYS` order.
-- @tparam table obj
-- @tparam table keys
-- @tparam[opt=0] number depth
-- @treturn string no trailing newline
function M.object_json(obj, keys, depth)
  local pad = indent(depth or 0)
  local inner = pad .. "    "
  local parts = {}
  for _, key in ipairs(keys) do
    local v = obj[key]
    local text
    if type(v) == "table" then
      text = M.object_json(v, M.COUNT_KEYS, (depth or 0) + 1):gsub("^%s+", "")
    elseif v ~= nil then
      if key:match("Date$") and type(v) == "number" then
        v = iso8601(v)
      end
      text = json_scalar(v)
      if FLOAT_KEYS[key] and type(v) == "number" and not text:find("[%.eEn]") then
        text = text .. ".0"
      end
    end
    if text then
      parts[#parts + 1] = inner .. '"' .. key .. '": ' .. text
    end
  end
  if #parts == 0 then
    return pad .. "{}"
  end
  return pad .. "{\n" .. table.concat(parts, ",\n") .. "\n" .. pad .. "}"
end

-- Formatters: item(run) as the runs arrive, finish(token) at the end. Nothing
-- is written before the first Map Run (or the end) is known, so a failing
-- first request leaves stdout empty. `key` names the array ("mapRuns",
-- "executions"), `encode(item, depth)` writes one element.
function M.json_formatter(write, key, encode)
  key = key or "mapRuns"
  encode = encode or M.map_run_json
  local count = 0
  local f = {}
  function f.item(run)
    if count == 0 then
      write('{\n    "' .. key .. '": [\n')
    else
      write(",\n")
    end
    count = count + 1
    write(encode(run, 2))
  end
  function f.finish(token)
    if count == 0 then
      write('{\n    "' .. key .. '": []')
    else
      write("\n    ]")
    end
    if token then
      write(',\n    "NextToken": ' .. json_string(token))
    end
    write("\n}\n")
  end
  return f
end

return M

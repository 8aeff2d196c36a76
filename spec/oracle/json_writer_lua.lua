-- The CLI's JSON writer as it was in Lua (lua/sfn/cli.lua at efcb31f), kept
-- as the reference that spec/66-json_writer_spec.lua compares the C writer
-- (sfn.core.json_string / json_object) with, and that bench/bench.lua times
-- as "before". Not used by the library.
local iso8601 = require("sfn.time").iso8601

local M = {}


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

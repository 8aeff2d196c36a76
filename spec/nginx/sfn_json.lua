-- A tiny JSON encoder with sorted keys, shared by the nginx handlers and the
-- spec: both sides encode with it, so equal data gives equal text.
-- Numbers keep every digit (%.17g), which matters for fractional dates.
local json = {}

local type, pairs, tostring = type, pairs, tostring
local floor, huge = math.floor, math.huge
local concat, sort = table.concat, table.sort

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function number(x)
  if x ~= x or x == huge or x == -huge then
    return "null"
  end
  if floor(x) == x and x > -2 ^ 53 and x < 2 ^ 53 then
    return ("%d"):format(x)
  end
  return ("%.17g"):format(x)
end

-- An array: keys exactly 1..n (an empty table is an array).
local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or floor(k) ~= k then
      return false
    end
    n = n + 1
  end
  for i = 1, n do
    if t[i] == nil then
      return false
    end
  end
  return true, n
end

local encode

local function encode_table(t, out, depth)
  if depth > 32 then
    error("json: nested too deep")
  end
  local array, n = is_array(t)
  if array then
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then
        out[#out + 1] = ","
      end
      encode(t[i], out, depth + 1)
    end
    out[#out + 1] = "]"
    return
  end
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = tostring(k)
  end
  sort(keys)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then
      out[#out + 1] = ","
    end
    out[#out + 1] = quote(k)
    out[#out + 1] = ":"
    local v = t[k]
    if v == nil then
      v = t[tonumber(k)]
    end
    encode(v, out, depth + 1)
  end
  out[#out + 1] = "}"
end

function encode(v, out, depth)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "number" then
    out[#out + 1] = number(v)
  elseif tv == "boolean" then
    out[#out + 1] = tostring(v)
  elseif tv == "table" then
    encode_table(v, out, depth)
  else
    out[#out + 1] = "null" -- nil, cjson.null, functions
  end
end

--- Encodes a value as JSON text.
function json.encode(v)
  local out = {}
  encode(v, out, 0)
  return concat(out)
end

return json

-- Differential check of the prototype fast path (bench/proto/fastpage.c)
-- against today's decoder: for hand-picked bodies and N random mutations of
-- a real-shaped reply, whenever fastpage.decode takes a body (returns a page)
-- core.decode_reply must succeed on it with an equal mapRuns and nextToken.
-- Bodies it declines are the cJSON path's, unchanged.
--
--   lua5.4 bench/proto/check.lua REPLY.json [N]    (make bench-proto runs it)
local core = require "sfn.core"
local fastpage = require "fastpage"

local path, n = arg[1], tonumber(arg[2] or 20000)
local f = assert(io.open(path, "rb"))
local base = f:read("a")
f:close()

local function equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then
    if type(a) == "number" and math.type and math.type(a) ~= math.type(b) then return false end
    return a == b or (a ~= a and b ~= b)
  end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local taken, declined, checked = 0, 0, 0
local function check(body, label)
  checked = checked + 1
  local fast = fastpage.decode(body)
  if fast == nil then
    declined = declined + 1
    return
  end
  taken = taken + 1
  local ok, ref = pcall(core.decode_reply, 200, {}, body)
  if not ok then
    error(("fast path took a body the decoder rejects (%s): %s\n%s"):format(label, tostring(ref), body:sub(1, 300)))
  end
  if not equal(fast.mapRuns, ref.mapRuns) or fast.nextToken ~= ref.nextToken then
    error(("fast path differs (%s)\n%s"):format(label, body:sub(1, 300)))
  end
end

local hand = {
  '{"mapRuns":[]}',
  '{"mapRuns":[],"nextToken":null}',
  '{"mapRuns":[],"nextToken":""}',
  '{"nextToken":"t","mapRuns":[]}',
  ' \n{ "mapRuns" : [ ] } \r\n\t',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":1}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":1.5,"stopDate":null}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":-0,"stopDate":0.1}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":1e3}]}',
  '{"mapRuns":[{"executionArn":"a\\u0041","mapRunArn":"b","stateMachineArn":"c","startDate":1}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":1,"x":{"y":[1,true,false,null,"z"]}}]}',
  '{"mapRuns":[{"executionArn":"a","executionArn":"b","mapRunArn":"b","stateMachineArn":"c","startDate":1}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":01}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":9007199254740993}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":0.1234567890123456789012}]}',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":1}]} x',
  '{"mapRuns":[{"executionArn":"a","mapRunArn":"b","stateMachineArn":"c","startDate":1}],"mapRuns":[]}',
  '{"mapRuns":{}}', '{"mapRuns":[1]}', '[]', '', '{}', '{"mapRuns":[{}]}',
  '\239\187\191{"mapRuns":[]}',
  '{"mapRuns":[{"executionArn":"\0","mapRunArn":"b","stateMachineArn":"c","startDate":1}]}',
  '{"mapRuns":[{"executionArn":"\255\254","mapRunArn":"b","stateMachineArn":"c","startDate":1}]}',
  '{"mapRuns":[],"other":"\\"q"}',
  '{"mapRuns":[],"deep":' .. ("["):rep(40) .. ("]"):rep(40) .. '}',
}
for i, body in ipairs(hand) do check(body, "hand " .. i) end
check(base, "base")

-- Random mutations: replace, insert or delete a byte from a small alphabet
-- of JSON's structural characters, digits and escapes; duplicate a slice.
local seed = 12345 -- Park-Miller: exact in doubles too (LuaJIT)
local function rnd(m)
  seed = (seed * 16807) % 2147483647
  return seed % m
end
local ALPHABET = { '"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "\t", "0", "1", "9", "-", ".",
  "e", "E", "+", "n", "u", "l", "t", "\0", "\127", "\200", "a", "x" }
for i = 1, n do
  local body = base
  for _ = 1, 1 + rnd(3) do
    local pos = 1 + rnd(#body)
    local op = rnd(4)
    local c = ALPHABET[1 + rnd(#ALPHABET)]
    if op == 0 then
      body = body:sub(1, pos - 1) .. c .. body:sub(pos + 1)
    elseif op == 1 then
      body = body:sub(1, pos - 1) .. c .. body:sub(pos)
    elseif op == 2 then
      body = body:sub(1, pos - 1) .. body:sub(pos + 1)
    else
      local len = 1 + rnd(40)
      body = body:sub(1, pos - 1) .. body:sub(pos, pos + len) .. body:sub(pos)
    end
  end
  check(body, "mutation " .. i)
end
io.write(("fastpage check: %d bodies, %d taken by the fast path and equal to decode_reply's page, %d left to cJSON\n")
  :format(checked, taken, declined))

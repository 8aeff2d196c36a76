-- The CLI's JSON writer in C (sfn.core.json_string, json_object, iso8601)
-- against the Lua writer it replaced (spec/oracle/json_writer_lua.lua, the
-- code of lua/sfn/cli.lua at efcb31f) byte for byte, and against python3's
-- json module as an independent oracle; then bad input: wrong types, NULs,
-- bytes that are not UTF-8, huge strings, cycles, raising metamethods.
local core = require "sfn.core"
local cli = require "sfn.cli"
local time = require "sfn.time"
local old = require "oracle.json_writer_lua"
local support = require "support"

local quote, capture = support.quote, support.capture
local PYTHON = capture("python3 -c 'import sys; print(sys.executable)' 2>/dev/null"):match("[^\n]+") or "python3"

-- A small deterministic generator (an LCG), the same on every interpreter.
local function rng(seed)
  local state = seed
  return function(n)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n
  end
end

-- Bytes biased towards what matters: ASCII, the escaped ones, UTF-8 lead
-- and continuation bytes, and the bytes no UTF-8 sequence holds.
local POOL = { 0, 1, 8, 9, 10, 12, 13, 27, 31, 34, 47, 92, 127, 128, 160, 191, 192, 193, 194, 223, 224, 237, 239, 240,
  244, 245, 255 }
local function random_bytes(next_int, len)
  local out = {}
  for i = 1, len do
    local r = next_int(4)
    if r == 0 then
      out[i] = string.char(POOL[next_int(#POOL) + 1])
    elseif r == 1 then
      out[i] = string.char(next_int(256))
    else
      out[i] = string.char(32 + next_int(95))
    end
  end
  return table.concat(out)
end

local TRICKY = {
  "", "plain arn:aws:states", 'say "hi"', "back\\slash", "a\nb\rc\td", "\b\f", "nul\0byte", "\0", "\1\31",
  "\27[31m", "del\127", "/slash/", "caf\195\169 \226\130\172 \240\159\152\128", "\226\128\168\226\128\169",
  "\255", "a\128b", "\192\175", "\224\128\175", "\237\160\128", "\244\144\128\128", "\226\130", "\226\130\172\226",
  "\244\143\191\191", "\239\191\189", "\239\187\191bom", ("x"):rep(600) .. "\226\130\172", ("\"\\\n"):rep(400),
}

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

describe("sfn.core.json_string", function()
  it("writes what the Lua writer wrote, for tricky and for random strings", function()
    for _, s in ipairs(TRICKY) do
      assert.are.equal(old.json_string(s), core.json_string(s), hex(s))
    end
    local next_int = rng(66)
    for _ = 1, 3000 do
      local s = random_bytes(next_int, next_int(40))
      assert.are.equal(old.json_string(s), core.json_string(s), hex(s))
    end
    -- long strings cross the escaper's steps at every offset
    for len = 500, 1100, 7 do
      local s = random_bytes(next_int, len)
      assert.are.equal(old.json_string(s), core.json_string(s))
    end
  end)

  it("is what sfn.cli.json_string is", function()
    assert.are.equal(core.json_string, cli.json_string)
  end)

  it("round-trips through python3's json module byte for byte", function()
    -- python3: json.loads(ours) is valid JSON; json.dumps of it gives ours
    -- back (ours is Python's spelling); for UTF-8 input it gives the input.
    local samples = {}
    for _, s in ipairs(TRICKY) do samples[#samples + 1] = s end
    local next_int = rng(7)
    for _ = 1, 200 do samples[#samples + 1] = random_bytes(next_int, next_int(30)) end
    local lines = {}
    for i, s in ipairs(samples) do
      lines[i] = hex(core.json_string(s)) .. " " .. hex(s)
    end
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
    local script = [[
import json, sys
bad = 0
for line in open(sys.argv[1]):
    ours, raw = (bytes.fromhex(p) for p in line.rstrip("\n").split(" "))
    text = ours.decode("utf-8")
    value = json.loads(text)
    if json.dumps(value, ensure_ascii=False) != text:
        bad += 1; print("not python's spelling:", line.strip())
    try:
        if value != raw.decode("utf-8"):
            bad += 1; print("changed:", line.strip())
    except UnicodeDecodeError:
        if "\ufffd" not in value:
            bad += 1; print("no U+FFFD:", line.strip())
print("bad", bad)
]]
    local out = capture(quote(PYTHON) .. " -c " .. quote(script) .. " " .. quote(path) .. " 2>&1")
    os.remove(path)
    assert.are.equal("bad 0\n", out)
  end)

  it("handles a huge string in one call", function()
    local s = ("\0\"\226\130\172\255x"):rep(200000) -- 1.4 MB, output 3.6 MB
    local out = core.json_string(s)
    assert.are.equal(2 + 200000 * (6 + 2 + 3 + 3 + 1), #out)
    assert.are.equal(old.json_string(s:sub(1, 7000)), core.json_string(s:sub(1, 7000)))
  end)

  it("raises ValidationError for what is not a string", function()
    for _, v in ipairs { 1, 2.5, true, {}, print, io.stdout } do
      local ok, e = pcall(core.json_string, v)
      assert.is_false(ok)
      assert.are.equal("ValidationError", e.code, tostring(v))
    end
    local ok, e = pcall(core.json_string)
    assert.is_false(ok)
    assert.are.equal("ValidationError", e.code)
  end)
end)

-- Map Runs and described Map Runs, regular and odd.
local function map_runs(next_int, count)
  local runs = {}
  for i = 1, count do
    local run = {
      executionArn = "arn:aws:states:us-east-1:123456789012:execution:flow:" .. random_bytes(next_int, 8),
      mapRunArn = "arn:aws:states:us-east-1:123456789012:mapRun:flow/m:" .. i,
      stateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:flow/m",
      startDate = 1700000000 + next_int(100000) / 1000,
    }
    if next_int(3) > 0 then run.stopDate = run.startDate + next_int(5000000) / 1000 end
    runs[i] = run
  end
  return runs
end

local ODD_VALUES = { true, false, 0, -0.0, 1, -1, 2.5, 1 / 3, 1e300, -1e-300, 2 ^ 53, 2 ^ 53 - 1, -2 ^ 53, 2 ^ 63, 0 / 0,
  math.huge, -math.huge, "", "\0", "x\255y", {}, { pending = 1, total = 2.5 }, print }

describe("sfn.core.json_object", function()
  it("writes Map Runs as the Lua writer did", function()
    local runs = map_runs(rng(1), 300)
    for _, run in ipairs(runs) do
      for depth = 0, 3 do
        assert.are.equal(old.map_run_json(run, depth), cli.map_run_json(run, depth))
      end
      assert.are.equal(old.map_run_json(run), cli.map_run_json(run))
    end
    assert.are.equal(old.map_run_json({}, 1), cli.map_run_json({}, 1))
    assert.are.equal(old.map_run_json({}, -2), cli.map_run_json({}, -2))
    assert.are.equal(old.map_run_json({ mapRunArn = "m" }, -2), cli.map_run_json({ mapRunArn = "m" }, -2))
  end)

  it("writes any value in any member as the Lua writer did", function()
    for _, v in ipairs(ODD_VALUES) do
      for _, key in ipairs { "mapRunArn", "startDate" } do
        local run = { [key] = v, executionArn = "e" }
        local ok_old, want = pcall(old.map_run_json, run, 2)
        local ok_new, got = pcall(cli.map_run_json, run, 2)
        assert.are.equal(ok_old, ok_new, key .. "=" .. tostring(v))
        if ok_old then
          assert.are.equal(want, got, key .. "=" .. tostring(v))
        else
          assert.are.equal(want.code, got.code)
          assert.are.equal(want.message, got.message)
        end
      end
    end
  end)

  it("writes described Map Runs and executions as the Lua writer did", function()
    local next_int = rng(3)
    for _ = 1, 200 do
      local d = { mapRunArn = "m" .. random_bytes(next_int, 5), status = "SUCCEEDED", startDate = next_int(2 ^ 30),
        maxConcurrency = next_int(3) == 0 and 0 or nil, toleratedFailurePercentage = next_int(4) == 0 and 5 or next_int(100) / 8,
        toleratedFailureCount = next_int(10), redriveCount = next_int(2), redriveDate = next_int(2) == 0 and 1e9 or nil,
        itemCounts = { pending = next_int(5), running = 1, succeeded = 2, total = 7, resultsWritten = 0,
          nested = { deeper = 1 } },
        executionCounts = next_int(4) == 0 and {} or { failed = 1, timedOut = next_int(3) == 0 and 0.5 or 1 } }
      for _, keys in ipairs { cli.DESCRIBE_KEYS, cli.EXECUTION_KEYS, cli.COUNT_KEYS } do
        assert.are.equal(old.object_json(d, keys, 1), cli.object_json(d, keys, 1))
        assert.are.equal(old.object_json(d, keys), cli.object_json(d, keys))
      end
    end
    for _, v in ipairs(ODD_VALUES) do
      local d = { toleratedFailurePercentage = v, itemCounts = { total = v }, redriveDate = 1 }
      local ok, want = pcall(old.object_json, d, cli.DESCRIBE_KEYS, 2)
      if ok then
        assert.are.equal(want, cli.object_json(d, cli.DESCRIBE_KEYS, 2), tostring(v))
      end
    end
  end)

  it("gives the whole output of a listing as the Lua writer did", function()
    local runs = map_runs(rng(5), 250)
    local function render(formatter, n, token)
      local parts = {}
      local f = formatter(function(s) parts[#parts + 1] = s end)
      for i = 1, n do f.item(runs[i]) end
      f.finish(token)
      return table.concat(parts)
    end
    for _, n in ipairs { 0, 1, 2, 250 } do
      for _, token in ipairs { false, "tok+/=\"\n" } do
        assert.are.equal(render(old.json_formatter, n, token or nil), render(cli.formatters.json, n, token or nil))
      end
    end
  end)

  it("raises ValidationError for wrong types, non-string keys, cycles", function()
    local cases = {
      { nil, {} }, { "x", {} }, { {}, nil }, { {}, "k" }, { {}, {}, "2" }, { {}, {}, 1, "n" }, { {}, {}, 1, nil, 5 },
      { { a = 1 }, { "a", 5 } }, { { [1] = 1 }, { 1 } }, { {}, {}, 1e9 },
    }
    for i, case in ipairs(cases) do
      local ok, e = pcall(core.json_object, case[1], case[2], case[3], case[4], case[5])
      assert.is_false(ok, "case " .. i)
      assert.are.equal("ValidationError", e.code, "case " .. i)
    end
    local cycle = { total = 1 }
    cycle.nested = cycle
    local ok, e = pcall(core.json_object, { itemCounts = cycle }, { "itemCounts" }, 0, { "total", "nested" })
    assert.is_false(ok)
    assert.are.equal("ValidationError", e.code)
  end)

  it("lets errors from metamethods through and stays usable", function()
    local obj = setmetatable({}, { __index = function(_, k)
      if k == "stopDate" then error("boom", 0) end
      return ("v"):rep(5000) -- past the writer's first buffer
    end })
    for _ = 1, 50 do
      local ok, e = pcall(cli.map_run_json, obj, 1)
      assert.is_false(ok)
      assert.are.equal("boom", e)
    end
    collectgarbage()
    assert.are.equal(old.map_run_json({ mapRunArn = "m" }), cli.map_run_json({ mapRunArn = "m" }))
  end)

  it("writes big objects", function()
    local big = { executionArn = ("\1"):rep(300000), mapRunArn = ("\226\130\172"):rep(100000), startDate = 1 }
    assert.are.equal(old.map_run_json(big, 2), cli.map_run_json(big, 2))
  end)
end)

describe("sfn.core.iso8601", function()
  it("formats as the Lua sfn.time.iso8601 did and raises as it did", function()
    local values = { 0, -1, 0.0005, 0.0004999, 1700000000.125, 1700000000.9996, 951782400, -62135596800, -62135596801,
      253402300799, 253402300799.9994, 253402300799.9995, 253402300800, 2 ^ 63, -2 ^ 63, 1e300, 0 / 0, math.huge,
      -math.huge, -0.0, 86399.9999 }
    local next_int = rng(9)
    for _ = 1, 2000 do
      values[#values + 1] = (next_int(2) == 0 and -1 or 1) * next_int(2 ^ 31) * next_int(120000) / 997
    end
    for _, t in ipairs(values) do
      local ok_old, want = pcall(old.iso8601, t)
      local ok_new, got = pcall(core.iso8601, t)
      assert.are.equal(ok_old, ok_new, tostring(t))
      if ok_old then
        assert.are.equal(want, got, tostring(t))
      else
        assert.are.same(want, got) -- every field
        assert.are.equal(tostring(want), tostring(got))
      end
    end
    assert.are.equal(core.iso8601, time.iso8601)
    for _, v in ipairs { "1", true, {}, nil } do
      local ok, e = pcall(core.iso8601, v)
      assert.is_false(ok)
      assert.are.equal("ValidationError", e.code)
    end
  end)
end)

-- The fast path of core.decode_reply (src/fastpage.c), checked against the
-- cJSON path on thousands of bodies: for every one, decode_reply must give
-- exactly what the cJSON path alone gives, the same page (same keys, same
-- strings, numbers bit for bit) or the same error.
--
-- The oracle is core._decode_reply_cjson, decode_reply with the fast path
-- switched off, an internal entry src/reply.c registers for this spec and
-- spec/fuzz/fuzz_fastpage.c (core._fastpage runs the fast path alone, so we
-- can see which bodies it takes). Why not lua-cjson as the oracle, which
-- would not depend on our build: the fast path promises the result of the
-- cJSON path, and that result carries cJSON's own readings (the first of
-- two equal keys wins, "\u0000" cuts a string, "01" and "1." are numbers,
-- any byte up to 0x20 is whitespace, a UTF-8 BOM is skipped) and our error
-- messages, none of which lua-cjson shares. Compared with lua-cjson, the
-- mutated bodies, where the fast path's decisions matter most, would give
-- false differences. lua-cjson (and tonumber) still serve as independent
-- checks of the values on the bodies the fast path takes.
local core = require "sfn.core"

local has_cjson, cjson = pcall(require, "cjson")
local IS_54 = math.type ~= nil

-- Park-Miller: deterministic, and exact in doubles (LuaJIT, 5.1).
local seed = 20241124
local function rnd(m)
  seed = (seed * 16807) % 2147483647
  return seed % m
end

local function pick(list)
  return list[1 + rnd(#list)]
end

---------------------------------------------------------------------------
-- comparing

local function same_number(a, b)
  if IS_54 and math.type(a) ~= math.type(b) then return false end
  if a ~= a then return b ~= b end
  return a == b and (a ~= 0 or 1 / a == 1 / b) -- -0.0 is not 0.0
end

-- The first difference between two values, as a path, or nil. unordered:
-- the tables need not have been built alike.
local function diff(a, b, path, unordered)
  path = path or "page"
  if type(a) ~= type(b) then
    return ("%s: %s vs %s"):format(path, type(a), type(b))
  end
  if type(a) == "number" then
    if not same_number(a, b) then return ("%s: %.17g vs %.17g"):format(path, a, b) end
  elseif type(a) == "table" then
    -- built alike, so walked alike: the same keys in the same pairs() order
    if not unordered then
      local ka, kb = next(a), next(b)
      while ka ~= nil and ka == kb do ka, kb = next(a, ka), next(b, kb) end
      if ka ~= kb then return ("%s: pairs() order %s vs %s"):format(path, tostring(ka), tostring(kb)) end
    end
    for k, v in pairs(a) do
      local d = diff(v, b[k], path .. "." .. tostring(k), unordered)
      if d then return d end
    end
    for k in pairs(b) do
      if a[k] == nil then return path .. "." .. tostring(k) .. ": missing" end
    end
  elseif a ~= b then
    return ("%s: %q vs %q"):format(path, tostring(a), tostring(b))
  end
  return nil
end

local ERROR_FIELDS = { "code", "message", "status", "request_id", "retryable", "attempts", "operation" }
local HEADERS = { ["x-amzn-RequestId"] = "rid-21" }

local stats = { bodies = 0, taken = 0 }

-- What lua-cjson reads in body, in our page's shape (no ResponseMetadata).
local ITEM_FIELDS = { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" }
local function cjson_page(body)
  local t = cjson.decode(body)
  local page = { mapRuns = {} }
  for i, item in ipairs(t.mapRuns) do
    local run = {}
    for _, k in ipairs(ITEM_FIELDS) do
      if item[k] ~= cjson.null then run[k] = item[k] end
    end
    page.mapRuns[i] = run
  end
  if type(t.nextToken) == "string" and t.nextToken ~= "" then page.nextToken = t.nextToken end
  return page
end

-- Decodes body both ways; returns a description of the difference, or nil.
-- Also checks the fast path alone: a body it takes is one the cJSON path
-- takes too, with the same page, and lua-cjson reads the same values in it.
local function check(body)
  stats.bodies = stats.bodies + 1
  local ok1, v1 = pcall(core.decode_reply, 200, HEADERS, body)
  local ok2, v2 = pcall(core._decode_reply_cjson, 200, HEADERS, body)
  if ok1 ~= ok2 then
    return ("decode_reply %s, the cJSON path %s"):format(ok1 and "gave a page" or tostring(v1),
      ok2 and "gave a page" or tostring(v2))
  end
  if ok1 then
    local d = diff(v1, v2)
    if d then return d end
  else
    for _, k in ipairs(ERROR_FIELDS) do
      if v1[k] ~= v2[k] then return ("err.%s: %q vs %q"):format(k, tostring(v1[k]), tostring(v2[k])) end
    end
  end
  local n = select("#", core._fastpage(body))
  if n ~= 1 then return "_fastpage returned " .. n .. " values" end
  local fast = core._fastpage(body)
  if fast then
    stats.taken = stats.taken + 1
    if not ok2 then return "the fast path took a body the cJSON path rejects: " .. v2.message end
    -- the page's keys unordered: the cJSON path's page had one more
    v2.ResponseMetadata = nil
    local d = diff(fast.mapRuns, v2.mapRuns, "page.mapRuns") or diff(fast, v2, nil, true)
    if d == nil and has_cjson then d = diff(fast, cjson_page(body), "page (lua-cjson)", true) end
    return d
  elseif fast ~= false then
    return "_fastpage returned " .. tostring(fast)
  end
  return nil
end

local function show(body)
  body = #body > 300 and body:sub(1, 300) .. "..." or body
  return (body:gsub("[%z\1-\31\127-\255]", function(c) return ("\\x%02x"):format(c:byte()) end))
end

-- Checks every body; fails listing the first few that differ. Returns how
-- many the fast path took.
local function check_all(bodies)
  local failures, taken = {}, stats.taken
  for _, body in ipairs(bodies) do
    local d = check(body)
    if d and #failures < 5 then failures[#failures + 1] = d .. "\n  body: " .. show(body) end
  end
  assert(#failures == 0, "fast path and cJSON path differ:\n" .. table.concat(failures, "\n"))
  return stats.taken - taken
end

local function assert_all_taken(bodies)
  for _, body in ipairs(bodies) do
    assert(core._fastpage(body), "the fast path declines a plain body: " .. show(body))
  end
end

---------------------------------------------------------------------------
-- bodies

local REGION, ACCOUNT, FLOW = "us-east-1", "123456789012", "orders-nightly-reconcile"
local EXEC = ("arn:aws:states:%s:%s:execution:%s:run-2024-11-24T02-00-00Z-7d3f9a1c"):format(REGION, ACCOUNT, FLOW)

local function uuid(i)
  local h = {}
  for k = 1, 32 do h[k] = ("%x"):format((i * 7919 + k * 104729) % 16) end
  local s = table.concat(h)
  return ("%s-%s-%s-%s-%s"):format(s:sub(1, 8), s:sub(9, 12), s:sub(13, 16), s:sub(17, 20), s:sub(21, 32))
end

-- "1732413601.237" as Java's Double.toString writes it: "1.732413601237E9".
local function java_form(fixed)
  local int, frac = fixed:match("^(%d+)%.?(%d*)$")
  local digits = (int .. frac):gsub("0+$", "")
  if #digits < 2 then digits = digits .. "0" end
  return digits:sub(1, 1) .. "." .. digits:sub(2) .. "E" .. (#int - 1)
end

-- The fields of a real Map Run as {key, raw JSON} pairs, in the service's
-- order. style: "fixed" (1732413601.237) or "java" (1.732413601237E9).
local function real_fields(i, running, style)
  local label = "ProcessBatch" .. (i % 7)
  local start = ("%.3f"):format(1732413600 + i * 1.237)
  local stop = ("%.3f"):format(1732413600 + i * 1.237 + 95.5 + (i % 13) * 7.125)
  if style == "java" then start, stop = java_form(start), java_form(stop) end
  local f = {
    { "executionArn", '"' .. EXEC .. '"' },
    { "mapRunArn", ('"arn:aws:states:%s:%s:mapRun:%s/%s:%s"'):format(REGION, ACCOUNT, FLOW, label, uuid(i)) },
    { "stateMachineArn", ('"arn:aws:states:%s:%s:stateMachine:%s/%s"'):format(REGION, ACCOUNT, FLOW, label) },
    { "startDate", start },
  }
  if not running then f[#f + 1] = { "stopDate", stop } end
  return f
end

local function object(fields, sep)
  local parts = {}
  for i, f in ipairs(fields) do parts[i] = '"' .. f[1] .. '":' .. f[2] end
  return "{" .. table.concat(parts, sep or ",") .. "}"
end

local function real_item(i, running, style)
  return object(real_fields(i, running, style))
end

local TOKEN = '"' .. ("QUFBQUJCQkJDQ0NDRERERA=="):rep(12) .. '"'

local function page(items, token)
  local fields = { { "mapRuns", "[" .. table.concat(items, ",") .. "]" } }
  if token then fields[2] = { "nextToken", token } end
  return object(fields)
end

local function real_page(n, style, token)
  local items = {}
  for i = 1, n do items[i] = real_item(i, i > n - 2, style) end
  return page(items, token)
end

-- A page of one item whose field key holds raw JSON value.
local function with_field(key, value)
  local f = real_fields(1, false, "fixed")
  local found = false
  for _, kv in ipairs(f) do
    if kv[1] == key then kv[2], found = value, true end
  end
  if not found then f[#f + 1] = { key, value } end
  return page({ real_item(2, false, "fixed"), object(f) }, TOKEN)
end

local function permutations(list)
  local out = {}
  local function go(prefix, rest)
    if #rest == 0 then
      out[#out + 1] = prefix
      return
    end
    for i = 1, #rest do
      local p, r = {}, {}
      for j, v in ipairs(prefix) do p[j] = v end
      p[#p + 1] = rest[i]
      for j = 1, #rest do if j ~= i then r[#r + 1] = rest[j] end end
      go(p, r)
    end
  end
  go({}, list)
  return out
end

---------------------------------------------------------------------------

describe("decode_reply's fast path", function()
  it("takes the real shapes, with the cJSON path's pages", function()
    local bodies = {}
    for _, n in ipairs { 0, 1, 2, 3, 10, 100, 1000 } do
      for _, style in ipairs { "fixed", "java" } do
        for _, token in ipairs { TOKEN, false, "null", '""' } do
          bodies[#bodies + 1] = real_page(n, style, token or nil)
        end
      end
    end
    check_all(bodies)
    assert_all_taken(bodies)
    local p = core._fastpage(real_page(3, "java", TOKEN))
    assert.equal(1732413601.237, p.mapRuns[1].startDate)
    assert.equal(EXEC, p.mapRuns[3].executionArn)
    assert.is_nil(p.mapRuns[3].stopDate)
    assert.is_nil(core._fastpage(real_page(1, "fixed", '""')).nextToken)
  end)

  it("gives the same tables whatever the order of fields and keys", function()
    local bodies = {}
    local base = real_fields(5, false, "fixed")
    for _, stop in ipairs { "1732413700.5", "null", false } do
      local fields = {}
      for i = 1, 4 do fields[i] = base[i] end
      if stop then fields[5] = { "stopDate", stop } end
      for _, order in ipairs(permutations(fields)) do
        bodies[#bodies + 1] = page({ object(order), real_item(6, false, "java") }, TOKEN)
      end
    end
    -- an unknown key at every place in an item
    for at = 1, 6 do
      local f = real_fields(7, false, "fixed")
      table.insert(f, at, { "label", '{"a":[1,"x",null,true,false,{}],"b":-2.5e3}' })
      bodies[#bodies + 1] = page({ object(f) }, TOKEN)
    end
    -- the page's keys in every order, with unknown keys
    local top = { { "mapRuns", "[" .. real_item(1, false, "fixed") .. "]" }, { "nextToken", TOKEN },
      { "ResponseMetadata", '{"RequestId":"x"}' }, { "x", "[]" } }
    for _, order in ipairs(permutations(top)) do bodies[#bodies + 1] = object(order) end
    assert.equal(120 + 120 + 24 + 6 + 24, #bodies)
    check_all(bodies)
    assert_all_taken(bodies)
  end)

  -- String texts, raw, as they appear between the quotes.
  local STRINGS = {
    "plain", "", "a/b", "caf\195\169-\226\156\147-\240\159\152\128", -- raw UTF-8
    "\255\254", "\192\128", "\237\160\128", "\244\144\128\128", "x\128", -- invalid UTF-8, raw
    "\127", "\1", "\31", "a\0b", "\0", "\t", -- control bytes and NULs, raw
    '\\"', "\\\\", "\\/", "\\b\\f\\n\\r\\t", "\\u0041", "\\u00e9", "\\u2713", "\\ud83d\\ude00",
    "\\u0000", "a\\u0000b", "\\ud800", "\\udc00", "\\ud800\\u0041", "\\x", "\\", "\\u12", "\\U0041",
  }

  it("gives the same strings: escapes, unicode, invalid UTF-8, NULs", function()
    local bodies, plain = {}, {}
    for _, s in ipairs(STRINGS) do
      local q = '"' .. s .. '"'
      local list = {
        with_field("executionArn", q), with_field("mapRunArn", q), with_field("stateMachineArn", q),
        with_field("label", q), with_field(s, "1"), -- an unknown value, an unknown key
        page({ real_item(1, false, "fixed") }, q),
        '{"' .. s .. '":1,"mapRuns":[]}',
        with_field("executionArn", '"' .. s .. EXEC .. '"'),
        '{"mapRuns":[],"nextToken":"' .. ("t"):rep(40) .. s .. '"}', -- past the 8-byte scan
      }
      for _, b in ipairs(list) do bodies[#bodies + 1] = b end
      if not s:find("[%z\1-\31\\]") then
        for _, b in ipairs(list) do plain[#plain + 1] = b end
      end
    end
    -- a special byte at every offset of the 16- and 8-byte scans
    local SPECIAL = { '\\"', "\\n", "\0", "\1", "\31", "\127", "\128", "\255", " " }
    for offset = 0, 40 do
      for _, c in ipairs(SPECIAL) do
        local text = ("a"):rep(offset) .. c .. ("b"):rep(40 - offset)
        local b = with_field("executionArn", '"' .. text .. '"')
        bodies[#bodies + 1] = b
        if not text:find("[%z\1-\31\\]") then plain[#plain + 1] = b end
      end
    end
    check_all(bodies)
    assert_all_taken(plain) -- invalid UTF-8 is taken, as cJSON copies it
    -- a backslash anywhere, even in an unknown key's value, is cJSON's
    assert.is_false(core._fastpage(with_field("label", '"a\\/b"')))
    assert.is_false(core._fastpage('{"mapRuns":[],"x":"\\\\"}'))
    local p = core.decode_reply(200, {}, with_field("executionArn", '"\255\254"'))
    assert.equal("\255\254", p.mapRuns[2].executionArn)
    p = core.decode_reply(200, {}, with_field("executionArn", '"a\\u0000b"'))
    assert.equal("a", p.mapRuns[2].executionArn) -- cJSON cuts at the NUL
  end)

  -- Number texts in every JSON form, and forms cJSON reads outside JSON.
  local NUMBERS = {
    "0", "-0", "1", "-1", "7", "1700000000", "-1700000000", "1700000000.125", "1700000000.123",
    "1700000000.001", "1700000000.1", "1700000000.999999", "1.592834525513E9", "1.7000002009E9",
    "1.7E9", "17E8", "1e9", "1E+9", "1e+09", "1e-3", "1700000000125e-3", "1700000000125E-03",
    "0.1", "0.2", "0.3", "-0.0", "0.0", "0e0", "0E-0", "-0e+5", "0.000001", "1e-22", "1e-23",
    "1e22", "1e23", "8.98846567431158e307", "9007199254740992", "9007199254740993", "9007199254740991",
    "-9007199254740993", "900719925474099.3", "9007199254740992e-5", "18446744073709551615",
    "18446744073709551616", "99999999999999999999", "1234567890123456789", "12345678901234567890",
    "123456789012345678", "0.1234567890123456789", "0.12345678901234567890123", "1" .. ("0"):rep(30),
    "1." .. ("0"):rep(60) .. "1", "1e" .. ("0"):rep(70) .. "5", "1.2" .. ("0"):rep(58) .. "e1",
    "1.2" .. ("0"):rep(59) .. "e1", "0." .. ("0"):rep(21) .. "1", "0." .. ("0"):rep(22) .. "1",
    "4.9406564584124654e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1e308",
    "1e309", "1e400", "-1e400", "1e-400", "1e99999999999", "1e-99999999999",
    "01", "00", "-01", "1.", "-", "-.5", ".5", "+1", "1e", "1e+", "1E-", "1.e5", "1.5e5.5", "0x10",
    "Infinity", "-Infinity", "NaN", "1_000", "--1", "1-1", "1+1", "1e5e5", "2.", "1.5E", "0.5e-",
    -- around the eight digits taken at once
    "12345678", "1234567", "123456789", "99999999", "10000000", "12345678.5", "1234567.5",
    "12345678e2", "1234567e2", "9876543210987654321", "98765432109876543210", "-12345678",
    "-123456789.25", "10000000000000000", "1234567:", "12345678:", "1234567/", "12345678/",
  }

  -- Random numbers in JSON's grammar: sign, 1..25 digits, maybe a
  -- fraction, maybe an exponent.
  local function random_number()
    local digits = {}
    for i = 1, 1 + rnd(25) do digits[i] = tostring(rnd(10)) end
    if digits[1] == "0" and #digits > 1 then digits[1] = tostring(1 + rnd(9)) end
    local s = (rnd(4) == 0 and "-" or "") .. table.concat(digits)
    if rnd(2) == 0 then
      local frac = {}
      for i = 1, 1 + rnd(25) do frac[i] = tostring(rnd(10)) end
      s = s .. "." .. table.concat(frac)
    end
    if rnd(3) == 0 then s = s .. pick { "e", "E" } .. pick { "", "+", "-" } .. tostring(rnd(30)) end
    return s
  end

  local function number_bodies(n)
    return {
      with_field("startDate", n), with_field("stopDate", n), with_field("label", n),
      with_field("label", "[" .. n .. "," .. n .. "]"), page({ real_item(1, false, "fixed") }, n),
      '{"mapRuns":[],"x":' .. n .. "}",
    }
  end

  it("gives the same numbers, bit for bit, in every form", function()
    local numbers = {}
    for _, n in ipairs(NUMBERS) do numbers[#numbers + 1] = n end
    for _ = 1, 1500 do numbers[#numbers + 1] = random_number() end
    local bodies = {}
    for _, n in ipairs(numbers) do
      for _, b in ipairs(number_bodies(n)) do bodies[#bodies + 1] = b end
    end
    check_all(bodies)
    -- The numbers it takes are the ones strtod (tonumber) makes, too.
    local taken = 0
    for _, n in ipairs(numbers) do
      local p = core._fastpage(with_field("startDate", n))
      if p then
        taken = taken + 1
        local want = tonumber(n)
        assert(same_number(p.mapRuns[2].startDate + 0.0, want + 0.0),
          ("%s: %.17g, tonumber gives %.17g"):format(n, p.mapRuns[2].startDate, want))
      end
    end
    assert.is_true(taken > 500, "the fast path took only " .. taken .. " numbers")
    for _, n in ipairs { "1700000000.125", "1.592834525513E9", "-0", "1e22", "1e-22", "9007199254740992",
      "1700000000125e-3", "0.000001" } do
      assert(core._fastpage(with_field("startDate", n)), n .. " is not taken")
    end
    local p = core._fastpage(with_field("startDate", "-0"))
    assert.equal(-math.huge, 1 / p.mapRuns[2].startDate)
  end)

  it("shares repeated ARNs between items, however many and however mixed", function()
    -- Items of 3 executions and 40 Map states in a shuffled order: more
    -- distinct values than the decoder keeps slots for, so some replace
    -- others; every field must still be the cJSON path's.
    local items = {}
    for i = 1, 600 do
      local f = real_fields(i, i % 9 == 0, "fixed")
      local state = "State" .. rnd(40)
      f[1][2] = '"' .. EXEC .. rnd(3) .. '"'
      f[2][2] = f[2][2]:gsub("ProcessBatch%d", state)
      f[3][2] = f[3][2]:gsub("ProcessBatch%d", state)
      items[i] = object(f)
    end
    local body = page(items, TOKEN)
    check_all { body }
    assert_all_taken { body }
    if IS_54 then
      -- Lua 5.4 does not intern long strings: shared ones cost nothing more.
      local function heap(decode)
        collectgarbage()
        collectgarbage()
        local before = collectgarbage("count")
        local holder = { decode(200, HEADERS, body) }
        collectgarbage()
        collectgarbage()
        assert.equal(600, #holder[1].mapRuns)
        return (collectgarbage("count") - before) * 1024
      end
      local fast, slow = heap(core.decode_reply), heap(core._decode_reply_cjson)
      -- two ARN copies per item avoided: well over 100 bytes each
      assert(slow - fast > 600 * 150, ("fast path %d bytes, cJSON path %d"):format(fast, slow))
    end
  end)

  it("gives the same result with whitespace anywhere", function()
    local base = page({ real_item(1, false, "fixed"), real_item(2, true, "java") }, TOKEN)
    local SPACES = { " ", "\n", "\r\n\t ", "\t\t", "\f", "\v", "\0", "\1", "\31", " \0 ", "\194\160" }
    local bodies = {}
    -- every place between two bytes outside strings
    local in_string, cuts = false, { 0 }
    for i = 1, #base do
      if base:sub(i, i) == '"' then in_string = not in_string end
      if not in_string then cuts[#cuts + 1] = i end
    end
    local plain, splits = {}, {}
    for _, at in ipairs(cuts) do
      for _, ws in ipairs(SPACES) do
        local b = base:sub(1, at) .. ws .. base:sub(at + 1)
        bodies[#bodies + 1] = b
        if not ws:find("[^ \n\r\t]") then
          -- JSON's whitespace is taken, unless it splits a number
          local inside = base:sub(at, at):find("[%w.+-]") and base:sub(at + 1, at + 1):find("[%w.+-]")
          if inside then splits[#splits + 1] = b else plain[#plain + 1] = b end
        end
      end
    end
    bodies[#bodies + 1] = "\239\187\191" .. base -- a BOM: cJSON skips it
    check_all(bodies)
    assert_all_taken(plain)
    assert_all_taken { " \n\t\r" .. base .. " \n\t\r" }
    for _, b in ipairs(splits) do assert.is_false(core._fastpage(b)) end
  end)

  it("leaves duplicate keys to cJSON (the first one wins)", function()
    local bodies = {}
    for _, key in ipairs { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" } do
      for _, value in ipairs { '"other"', "1700000999", "null", "{}" } do
        local f = real_fields(3, false, "fixed")
        table.insert(f, 1, { key, value })
        bodies[#bodies + 1] = page({ object(f) }, TOKEN)
        f = real_fields(3, false, "fixed")
        f[#f + 1] = { key, value }
        bodies[#bodies + 1] = page({ object(f) }, TOKEN)
      end
    end
    local item = real_item(1, false, "fixed")
    for _, b in ipairs {
      '{"mapRuns":[' .. item .. '],"mapRuns":[]}', '{"mapRuns":[],"mapRuns":[' .. item .. "]}",
      '{"mapRuns":[],"mapRuns":5}', '{"mapRuns":[],"nextToken":"a","nextToken":"b"}',
      '{"nextToken":null,"mapRuns":[],"nextToken":"b"}', '{"mapRuns":[],"nextToken":"a","nextToken":5}',
    } do bodies[#bodies + 1] = b end
    check_all(bodies)
    local p = core.decode_reply(200, {}, '{"mapRuns":[],"nextToken":"a","nextToken":"b"}')
    assert.equal("a", p.nextToken)
    -- duplicate unknown keys are only syntax: taken
    assert_all_taken { '{"x":1,"x":2,"mapRuns":[' .. item .. ']}' }
  end)

  it("gives the same result for nulls and wrong types anywhere", function()
    local bodies = {}
    local VALUES = { "null", "true", "false", "{}", "[]", '"s"', "1", '{"a":1}', "[null]" }
    for _, key in ipairs { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" } do
      for _, v in ipairs(VALUES) do bodies[#bodies + 1] = with_field(key, v) end
    end
    for _, v in ipairs(VALUES) do
      bodies[#bodies + 1] = '{"mapRuns":' .. v .. "}"
      bodies[#bodies + 1] = '{"mapRuns":[' .. v .. "]}"
      bodies[#bodies + 1] = '{"mapRuns":[' .. real_item(1, false, "fixed") .. "," .. v .. "]}"
      bodies[#bodies + 1] = '{"mapRuns":[],"nextToken":' .. v .. "}"
      bodies[#bodies + 1] = v
    end
    for _, key in ipairs { "executionArn", "mapRunArn", "stateMachineArn", "startDate" } do
      local f = real_fields(1, false, "fixed")
      for i, kv in ipairs(f) do if kv[1] == key then table.remove(f, i) end end
      bodies[#bodies + 1] = page({ object(f) }, TOKEN)
    end
    check_all(bodies)
  end)

  it("skips unknown keys with nested values, to a depth", function()
    local bodies, shallow = {}, {}
    for depth = 0, 40 do
      local open, close = {}, {}
      for i = 1, depth do
        if i % 2 == 0 then
          open[i], close[depth - i + 1] = '{"k' .. i .. '":', "}"
        else
          open[i], close[depth - i + 1] = "[1,", "]"
        end
      end
      local v = table.concat(open) .. '{"s":"x","n":-1.5e-3,"t":true,"f":false,"z":null,"e":[],"o":{}}' ..
        table.concat(close)
      local list = { with_field("label", v), '{"x":' .. v .. ',"mapRuns":[]}' }
      for _, b in ipairs(list) do
        bodies[#bodies + 1] = b
        if depth <= 28 then shallow[#shallow + 1] = b end
      end
    end
    check_all(bodies)
    assert_all_taken(shallow)
  end)

  it("never gives a page for a cut reply, wherever it is cut", function()
    local bodies = {}
    local body = page({ real_item(1, false, "fixed"), real_item(2, true, "java"),
      real_item(3, false, "java") }, TOKEN)
    for n = 0, #body do bodies[#bodies + 1] = body:sub(1, n) end
    local taken = check_all(bodies)
    assert.equal(1, taken) -- the whole body only
  end)

  it("agrees on random byte mutations of real replies", function()
    local bases = { real_page(4, "fixed", TOKEN), real_page(4, "java", nil),
      with_field("label", '{"a":[1,2.5,"x",null]}') }
    local ALPHABET = { '"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "0", "1", "9", "-", "+", ".",
      "e", "E", "n", "u", "l", "t", "\0", "\127", "\128", "\255", "a", "x", "/" }
    local bodies = {}
    for _ = 1, 3000 do
      local body = pick(bases)
      for _ = 1, 1 + rnd(3) do
        local pos = 1 + rnd(#body)
        local op = rnd(5)
        local c = rnd(4) == 0 and string.char(rnd(256)) or pick(ALPHABET)
        if op == 0 then
          body = body:sub(1, pos - 1) .. c .. body:sub(pos + 1)
        elseif op == 1 then
          body = body:sub(1, pos - 1) .. c .. body:sub(pos)
        elseif op == 2 then
          body = body:sub(1, pos - 1) .. body:sub(pos + 1)
        elseif op == 3 then
          body = body:sub(1, pos - 1) .. body:sub(pos, pos + rnd(40)) .. body:sub(pos)
        else -- a digit changed: a different number, still taken
          local at = body:find("%d", pos) or pos
          body = body:sub(1, at - 1) .. tostring(rnd(10)) .. body:sub(at + 1)
        end
      end
      bodies[#bodies + 1] = body
    end
    local taken = check_all(bodies)
    assert.is_true(taken > 300, "only " .. taken .. " mutations taken")
  end)

  it("keeps every ResponseError and its message", function()
    local item = real_item(1, false, "fixed")
    local cases = {
      { "", "reply body is empty" },
      { "  ", "reply body is empty (whitespace only)" },
      { '{"mapRuns":[' .. item, "reply body is truncated JSON (" .. (#item + 12) .. " bytes)" },
      { '{"mapRuns":[]} x', "reply body has data after the JSON value at byte 15: x" },
      { '{"mapRuns":[]}\0', "reply body has data after the JSON value at byte 14: \\x00" },
      { "<html></html>", "reply body is not JSON: <html></html>" },
      { '{"mapRuns":[],}', "reply body is not valid JSON at byte 14: }" },
      { "{}", "reply has no mapRuns" },
      { '{"__type":"ThrottlingException"}', "reply has no mapRuns (it has __type ThrottlingException)" },
      { '{"mapRuns":{}}', "mapRuns is an object, not an array" },
      { '{"mapRuns":[1]}', "mapRuns[1] is a number, not an object" },
      { '{"mapRuns":[{}]}', "mapRuns[1] has no executionArn" },
      { '{"mapRuns":[],"nextToken":5}', "nextToken is a number, not a string" },
      { with_field("startDate", "1e400"), "mapRuns[2].startDate is out of range, not a date in seconds" },
      { with_field("stopDate", '"x"'), "mapRuns[2].stopDate is a string, not a date in seconds" },
      { with_field("mapRunArn", "null"), "mapRuns[2].mapRunArn is null, not a string" },
      { '{"mapRuns":[' .. ("["):rep(2000) .. ("]"):rep(2000) .. "]}", "reply body nests deeper than 1000 levels" },
    }
    for _, c in ipairs(cases) do
      for _, decode in ipairs { core.decode_reply, core._decode_reply_cjson } do
        local ok, err = pcall(decode, 200, HEADERS, c[1])
        assert.is_false(ok)
        assert.is_true(core.is_error(err))
        assert.equal("ResponseError", err.code)
        assert.equal(c[2], err.message)
        assert.equal(200, err.status)
        assert.equal("rid-21", err.request_id)
        assert.is_false(err.retryable)
      end
    end
    local bodies = {}
    for _, c in ipairs(cases) do bodies[#bodies + 1] = c[1] end
    check_all(bodies)
  end)

  it("checks the internal entries' arguments as decode_reply does", function()
    for _, args in ipairs { { "x" }, { 200, 5 }, { 200, {}, 5 }, { 200, {}, "", 5 }, { 99 } } do
      local ok1, e1 = pcall(core.decode_reply, args[1], args[2], args[3], args[4])
      local ok2, e2 = pcall(core._decode_reply_cjson, args[1], args[2], args[3], args[4])
      assert.is_false(ok1)
      assert.is_false(ok2)
      assert.equal("ValidationError", e2.code)
      assert.equal(e1.message, e2.message)
    end
    for _, v in ipairs { 1, {}, true, print } do
      local ok, err = pcall(core._fastpage, v)
      assert.is_false(ok)
      assert.equal("ValidationError", err.code)
    end
  end)

  it("has lua-cjson to check the values of the bodies it takes", function()
    if not has_cjson then pending("lua-cjson is not installed: values checked against the cJSON path only") end
    assert.is_true(stats.taken > 0)
    if os.getenv("SFN_FASTPAGE_STATS") then
      io.stderr:write(("\n21-fastpage: %d bodies checked, %d taken by the fast path\n"):format(stats.bodies,
        stats.taken))
    end
  end)
end)

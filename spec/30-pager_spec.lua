-- sfn.Pager (core.new_pager): botocore's PageIterator rules driven with
-- synthetic pages, the resume-token codec (core.encode_token/decode_token)
-- checked byte for byte against botocore itself, and the iterator closures
-- client:pages / client:items.
local core = require "sfn.core"
local support = require "support"

local ARN = "arn:aws:states:us-east-1:123456789012:execution:flow:run-1"
local unpack = table.unpack or unpack

-- ---------------------------------------------------------------- helpers

local function hex(s)
  return (s:gsub(".", function(c)
    return ("%02x"):format(c:byte())
  end))
end

-- Calls f(...) expecting an sfn.Error; returns it.
local function raises(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(core.is_error(err), "expected an sfn.Error, got " .. tostring(err))
  return err
end

-- A synthetic service: sizes[i] items on page i (items numbered 1..N in
-- order), page i > 1 reached with nextToken "tok-i". Pages carry
-- ResponseMetadata like real ones. `log` collects the params received.
local function service(sizes, log)
  local first = {}
  local n = 0
  for i, size in ipairs(sizes) do
    first[i] = n
    n = n + size
  end
  return function(params)
    if log then
      log[#log + 1] = params
    end
    local i = 1
    if params.nextToken then
      i = assert(tonumber(params.nextToken:match("^tok%-(%d+)$")), "bad token " .. params.nextToken)
    end
    local runs = {}
    for k = 1, sizes[i] do
      runs[k] = first[i] + k
    end
    local page = {
      mapRuns = runs,
      ResponseMetadata = { RequestId = "req-" .. i, HTTPStatusCode = 200, RetryAttempts = 0 },
    }
    if i < #sizes then
      page.nextToken = "tok-" .. (i + 1)
    end
    return page
  end, n
end

-- Drives a pager to the end; returns the pages' item lists.
local function drive(pager, serve)
  local pages = {}
  for _ = 1, 10000 do
    local params = pager:next_params()
    if params == nil then
      return pages
    end
    local page = serve(params)
    local same = pager:accept(page)
    assert.are.equal(page, same)
    local items = {}
    for i, v in ipairs(page.mapRuns) do
      items[i] = v
    end
    pages[#pages + 1] = items
  end
  error("the pager never finished")
end

local function flatten(pages)
  local out = {}
  for _, page in ipairs(pages) do
    for _, v in ipairs(page) do
      out[#out + 1] = v
    end
  end
  return out
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Standard padded base64, to build tokens from arbitrary JSON text.
local function b64encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local q = {}
    for k = 3, 0, -1 do
      local v = math.floor(n / 64 ^ k) % 64
      q[#q + 1] = B64:sub(v + 1, v + 1)
    end
    if not b then
      q[3], q[4] = "=", "="
    elseif not c then
      q[4] = "="
    end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

-- The inverse, for well-formed input: to look at the JSON inside a token.
local function b64decode(s)
  local out = {}
  s = s:gsub("=", "")
  for i = 1, #s, 4 do
    local chunk = s:sub(i, i + 3)
    local n = 0
    for k = 1, #chunk do
      n = n * 64 + (B64:find(chunk:sub(k, k), 1, true) - 1)
    end
    local bytes = #chunk - 1
    n = math.floor(n / 4 ^ (4 - #chunk))
    for k = bytes - 1, 0, -1 do
      out[#out + 1] = string.char(math.floor(n / 256 ^ k) % 256)
    end
  end
  return table.concat(out)
end

local function pack(...)
  return { n = select("#", ...), ... }
end

local function range(a, b)
  local out = {}
  for i = a, b do
    out[#out + 1] = i
  end
  return out
end

-- ---------------------------------------------------------------- botocore

local PYTHON_ORACLE = [==[
import binascii, sys
import jmespath
from botocore.paginate import PageIterator, TokenDecoder, TokenEncoder

def h(s):
    return binascii.hexlify(s.encode("utf-8")).decode()

def uh(x):
    return binascii.unhexlify(x).decode("utf-8")

def iterator(starting_token, method=None, max_items=None):
    return PageIterator(method, ["nextToken"], [jmespath.compile("nextToken")],
                        None, [jmespath.compile("mapRuns")], [], "maxResults",
                        max_items, starting_token, None,
                        {"executionArn": "arn"})

def in_schema(d):
    # the schema sfn reads from a JSON token; anything else falls back to
    # the deprecated form (see src/token.c)
    if not isinstance(d, dict):
        return False
    if set(d) not in ({"nextToken"}, {"nextToken", "boto_truncate_amount"}):
        return False
    if d["nextToken"] is not None and not isinstance(d["nextToken"], str):
        return False
    a = d.get("boto_truncate_amount", 0)
    return isinstance(a, int) and not isinstance(a, bool) and a >= 0

def decode(s):
    it = iterator(s)
    try:
        d = TokenDecoder().decode(s)
        ok = in_schema(d)
    except Exception:
        ok = False
    try:
        if ok:
            tok, idx = d["nextToken"], d.get("boto_truncate_amount", 0)
            # cross-check: botocore's own parser agrees on these
            ref = it._parse_starting_token()
            assert ref[0].get("nextToken") == tok and ref[1] == idx
        else:
            ref, idx = it._parse_starting_token_deprecated()
            tok = ref["nextToken"]
    except ValueError:
        return "error"
    if idx < 0:
        return "error"  # sfn refuses negative deprecated amounts
    return ("nil" if tok is None else "s" + h(tok)) + " " + str(idx)

def service(sizes):
    pages, n = [], 0
    for size in sizes:
        pages.append(list(range(n + 1, n + size + 1)))
        n += size
    def method(**kw):
        t = kw.get("nextToken")
        i = 0 if t is None else int(t.split("-")[1]) - 1
        page = {"mapRuns": list(pages[i])}
        if i + 1 < len(pages):
            page["nextToken"] = "tok-%d" % (i + 2)
        return page
    return method

def run(sizes, max_items, start):
    out = []
    for _ in range(200):
        it = iterator(start, service(sizes), max_items)
        for page in it:
            out.append("page " + (",".join(map(str, page["mapRuns"])) or "-"))
        out.append("resume " + (it.resume_token or "-"))
        if it.resume_token is None:
            break
        start = it.resume_token
    return out

out = []
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "enc":
        d = {"nextToken": None if f[1] == "-" else "" if f[1] == "e" else uh(f[1])}
        if f[2] != "-":
            d["boto_truncate_amount"] = int(f[2])
        out.append(TokenEncoder().encode(d))
    elif f[0] == "dec":
        out.append(decode(binascii.unhexlify(f[1]).decode("utf-8")))
    elif f[0] == "run":
        sizes = [int(x) for x in f[1].split(",")]
        max_items = None if f[2] == "-" else int(f[2])
        start = None if f[3] == "-" else uh(f[3])
        out.extend(run(sizes, max_items, start))
        out.append("end")
sys.stdout.write("\n".join(out) + "\n")
]==]

local botocore_missing -- nil: unknown yet; false: importable; string: why not

local function botocore_status()
  if botocore_missing == nil then
    local handle = io.popen([[python3 -c 'import botocore.paginate, jmespath; print("ok")' 2>&1]])
    local out = handle and handle:read("*a") or "python3 could not be started"
    if handle then
      handle:close()
    end
    if out:match("^ok%s*$") then
      botocore_missing = false
    else
      botocore_missing = "botocore is not importable by python3: " .. out
    end
  end
  return botocore_missing
end

-- Runs the oracle over command lines; returns its output lines, or marks
-- the running test pending when botocore is missing.
local function oracle(commands)
  local missing = botocore_status()
  if missing then
    pending(missing)
    error("pending") -- not reached: pending() ends the test
  end
  local script, input = os.tmpname(), os.tmpname()
  support.write_file(script, PYTHON_ORACLE)
  support.write_file(input, table.concat(commands, "\n") .. "\n")
  local text = support.capture("python3 " .. script .. " " .. input .. " 2>&1")
  os.remove(script)
  os.remove(input)
  local lines = {}
  for line in text:gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  return lines, text
end

-- Our decode in the oracle's output format.
local function our_decode(s)
  local ok, tok, amount = pcall(core.decode_token, s)
  if not ok then
    assert.are.equal("ValidationError", tok.code)
    return "error"
  end
  return (tok == nil and "nil" or "s" .. hex(tok)) .. " " .. ("%d"):format(amount)
end

-- Tricky service tokens for the codec.
local function tricky_tokens()
  local controls = {}
  for c = 1, 31 do -- NUL: see "refuses a NUL escape" below
    controls[#controls + 1] = string.char(c)
  end
  local long = {}
  for i = 1, 1000 do
    long[i] = string.char(32 + (i * 7) % 95)
  end
  return {
    "abc",
    "",
    "None",
    'say "hi"',
    [[back\slash\\]],
    "a/b</script>",
    "\n\r\t\b\f",
    table.concat(controls),
    "del\127del",
    "caf\195\169",                 -- é
    "\228\184\173\230\150\135",    -- 中文
    "\240\159\152\128",            -- U+1F600, a surrogate pair in JSON
    "\239\191\191",                -- U+FFFF
    "\240\144\128\128",            -- U+10000
    "\244\143\191\191",            -- U+10FFFF
    "\226\128\168\226\128\169",    -- U+2028 U+2029
    "tok___3",
    "AAAA/+==",
    table.concat(long),
    ("x"):rep(1024),
  }
end

-- ---------------------------------------------------------------- codec

describe("core.encode_token", function()
  it("matches botocore's TokenEncoder for known tokens", function()
    -- generated with botocore.paginate.TokenEncoder().encode(...)
    assert.are.equal("eyJuZXh0VG9rZW4iOiAiYWJjIiwgImJvdG9fdHJ1bmNhdGVfYW1vdW50IjogNX0=",
      core.encode_token("abc", 5))
    assert.are.equal("eyJuZXh0VG9rZW4iOiBudWxsLCAiYm90b190cnVuY2F0ZV9hbW91bnQiOiAyfQ==",
      core.encode_token(nil, 2))
    assert.are.equal(
      "eyJuZXh0VG9rZW4iOiAieFwiXFxcblx1MDAwMVx1MDA3Zlx1MDBlOVx1ZDgzZFx1ZGUwMC8ifQ==",
      core.encode_token('x"\\\n\1\127\195\169\240\159\152\128/'))
  end)

  it("writes json.dumps' separators, key order and escapes", function()
    local function json(tok, n)
      return b64decode(core.encode_token(tok, n))
    end
    assert.are.equal('{"nextToken": "abc", "boto_truncate_amount": 5}', json("abc", 5))
    assert.are.equal('{"nextToken": null}', json(nil))
    assert.are.equal('{"nextToken": "\\"\\\\/\\u0000\\u001f\\u007f\\b"}', json('"\\/\0\31\127\8'))
    assert.are.equal('{"nextToken": "\\ud83d\\ude00\\u00e9"}', json("\240\159\152\128\195\169"))
  end)

  it("rejects wrong types and invalid UTF-8 with ValidationError", function()
    for _, case in ipairs {
      { "next_token", { 5 } },
      { "next_token", { {} } },
      { "next_token", { true } },
      { "next_token", { "\255" } },
      { "next_token", { "\237\160\128" } }, -- a UTF-16 surrogate
      { "next_token", { "\192\128" } },     -- overlong NUL
      { "truncate_amount", { "a", "5" } },
      { "truncate_amount", { "a", -1 } },
      { "truncate_amount", { "a", 1.5 } },
      { "truncate_amount", { "a", 0 / 0 } },
      { "truncate_amount", { "a", math.huge } },
      { "truncate_amount", { "a", 2 ^ 60 } },
    } do
      local err = raises(core.encode_token, unpack(case[2], 1, 2))
      assert.are.equal("ValidationError", err.code)
      assert.matches(case[1], err.message, 1, true)
    end
  end)

  it("accepts integral floats and the 2^53 bound", function()
    assert.are.equal(core.encode_token("a", 3), core.encode_token("a", 3.0))
    local tok, n = core.decode_token(core.encode_token("a", 2 ^ 53))
    assert.are.equal("a", tok)
    assert.are.equal(2 ^ 53, n)
  end)
end)

describe("core.decode_token", function()
  it("reads its own tokens back", function()
    for _, tok in ipairs(tricky_tokens()) do
      for _, n in ipairs { false, 0, 1, 7, 123456789 } do
        local t, amount = core.decode_token(core.encode_token(tok, n or nil))
        assert.are.equal(tok, t)
        assert.are.equal(n or 0, amount)
      end
    end
    local t, amount = core.decode_token(core.encode_token(nil, 4))
    assert.is_nil(t)
    assert.are.equal(4, amount)
  end)

  it("reads the deprecated forms as botocore does", function()
    for _, case in ipairs {
      { "tok___3", "tok", 3 },
      { "None___3", nil, 3 },
      { "None", nil, 0 },
      { "tok", "tok", 0 },
      { "tok___x", "tok___x", 0 },       -- not an int: the whole string
      { "tok___", "tok___", 0 },
      { "tok___ 3 \n", "tok", 3 },       -- int() strips whitespace
      { "tok___3\194\160", "tok", 3 },   -- U+00A0 too
      { "tok___\227\128\1283", "tok", 3 }, -- U+3000
      { "tok___1_0", "tok", 10 },        -- underscores between digits
      { "tok___1__0", "tok___1__0", 0 },
      { "tok____1", "tok____1", 0 },     -- split gives "tok", "_1"
      { "tok___+3", "tok", 3 },
      { "tok___-0", "tok", 0 },
      { "tok___007", "tok", 7 },
      { "___3", "", 3 },
      { "a_____b", "a_____b", 0 },       -- one split: "a", "__b"
      { "tok___99999999999999999999999", "tok", 2 ^ 53 }, -- clamped
    } do
      local t, n = core.decode_token(case[1])
      assert.are.equal(case[2], t, case[1])
      assert.are.equal(case[3], n, case[1])
    end
  end)

  it("falls back to the raw token when the JSON does not fit the schema", function()
    local b64 = b64encode
    assert.are.equal(core.encode_token("abc", 5), b64('{"nextToken": "abc", "boto_truncate_amount": 5}'))
    for _, json in ipairs {
      "{}",
      "[]",
      '"abc"',
      "5",
      "null",
      '{"nextToken": 5}',
      '{"nextToken": ["a"]}',
      '{"boto_truncate_amount": 1}',
      '{"nextToken": "a", "other": 1}',
      '{"NextToken": "a"}',
      '{"nextToken": "a", "boto_truncate_amount": -1}',
      '{"nextToken": "a", "boto_truncate_amount": 1.5}',
      '{"nextToken": "a", "boto_truncate_amount": true}',
      '{"nextToken": "a", "boto_truncate_amount": "1"}',
      '{"nextToken": "a", "boto_truncate_amount": null}',
      '{"nextToken": "a", "boto_truncate_amount": 01}', -- not JSON
      '{"nextToken": "a\tb"}',                           -- raw control: not JSON for Python
      '{"nextToken": "a\\u0000b"}',                      -- NUL: refused (see token.c)
      '{"nextToken": "a"} x',
      '{"nextToken": "a",}',
      '\239\187\191{"nextToken": "a"}',                  -- BOM
      '{"nextToken": "\\ud800"}',                        -- lone surrogate
      '{"nextToken": "\255"}',                           -- not UTF-8
      '\1{"nextToken": "a"}',
    } do
      local token = b64(json)
      local t, n = core.decode_token(token)
      assert.are.equal(token, t, json)
      assert.are.equal(0, n, json)
    end
    -- and what does fit, with whitespace, escapes and duplicates (last wins)
    for _, case in ipairs {
      { ' {"nextToken":"a\\/b\\u00e9"}\r\n', "a/b\195\169", 0 },
      { '{"nextToken": null, "boto_truncate_amount": 0}', nil, 0 },
      { '{"boto_truncate_amount": 3, "nextToken": "z"}', "z", 3 },
      { '{"nextToken": 1, "nextToken": "b"}', "b", 0 },
      { '{"nextToken": "a", "boto_truncate_amount": 2e0}', "a", 2 },
    } do
      local t, n = core.decode_token(b64(case[1]))
      assert.are.equal(case[2], t, case[1])
      assert.are.equal(case[3], n, case[1])
    end
  end)

  it("refuses a NUL escape (cJSON would cut the string): the raw token", function()
    -- botocore would decode "a\0b" here, which no request could carry
    -- (nextToken must not hold NUL); sfn keeps the token as a raw one.
    local token = core.encode_token("a\0b", 2)
    assert.are.equal('{"nextToken": "a\\u0000b", "boto_truncate_amount": 2}', b64decode(token))
    local t, n = core.decode_token(token)
    assert.are.equal(token, t)
    assert.are.equal(0, n)
  end)

  it("raises ValidationError where botocore raises, and on oversize tokens", function()
    for _, case in ipairs {
      { { "a___b___3" }, "bad starting token" }, -- botocore: ValueError
      { { "a______" }, "bad starting token" },
      { { "tok___-3" }, "negative" },
      { { ("A"):rep(16641) }, "longer than 16640" },
      { { 5 }, "token: expected a string" },
      { { nil }, "token: expected a string" },
      { { {} }, "token: expected a string" },
    } do
      local err = raises(core.decode_token, unpack(case[1], 1, 1))
      assert.are.equal("ValidationError", err.code)
      assert.matches(case[2], err.message, 1, true)
    end
    assert.are.equal(("A"):rep(16640), (core.decode_token(("A"):rep(16640))))
  end)

  it("takes back every resume token it makes, even for the longest nextTokens", function()
    for _, token in ipairs { ("\195\169"):rep(520), ("\240\159\152\128"):rep(1024) } do
      local next_token, amount = core.decode_token(core.encode_token(token, 5))
      assert.are.equal(token, next_token)
      assert.are.equal(5, amount)
    end
  end)
end)

describe("the codec against botocore", function()
  it("encodes byte for byte like TokenEncoder", function()
    local commands, expected = {}, {}
    for _, tok in ipairs(tricky_tokens()) do
      for _, n in ipairs { "-", "0", "5", "123456789", "9007199254740992" } do
        -- "e" stands for the empty string, "-" for nil (hex words are even)
        commands[#commands + 1] = ("enc %s %s"):format(tok == "" and "e" or hex(tok), n)
        expected[#expected + 1] = core.encode_token(tok, tonumber(n))
      end
    end
    commands[#commands + 1] = "enc - -"
    expected[#expected + 1] = core.encode_token(nil)
    local lines, text = oracle(commands)
    assert.are.equal(#expected, #lines, text)
    for i = 1, #expected do
      assert.are.equal(lines[i], expected[i], commands[i])
    end
  end)

  it("decodes botocore's tokens and the deprecated forms alike", function()
    local inputs = {}
    for _, tok in ipairs(tricky_tokens()) do
      inputs[#inputs + 1] = core.encode_token(tok)
      inputs[#inputs + 1] = core.encode_token(tok, 3)
    end
    for _, s in ipairs {
      "tok___3", "None___3", "None", "tok___x", "tok___ 3 ", "tok___1_0", "tok___+3", "tok___-0",
      "tok___007", "tok___", "___3", "a___b", "a___b___3", "a______", "tok___-3", "tok___\t7\r",
      "tok___3\194\160", "tok___\226\128\1283", "tok___\226\128\1773", "tok___1\195\169",
      "!!!", "abc=", "e30=", "e30", "W10=", "eyJuZXh0VG9rZW4iOiAxfQ==", "AAAA", "====",
      "eyJuZXh0VG9rZW4iOiAiYSJ9", "eyJuZXh0VG9rZW4iOiAiYSJ9junk", "eyJuZXh0VG9rZW4iOiAiYSJ9=",
      "ZXlKdVpYaDBWRzlyWlc0aU9pQWlZU0o5", "tok-2", "AQID",
    } do
      inputs[#inputs + 1] = s
    end
    -- base64 that the lenient decoder still reads: junk characters inserted,
    -- padding cut or doubled, trailing data after the padding
    local seed = 12345
    local function rand(n)
      seed = (seed * 16807) % 2147483647 -- exact in doubles too (LuaJIT)
      return seed % n + 1
    end
    local junk = { "!", "\n", " ", "-", "_", "=", "==", "*", "\195\169", ".", "A", "z" }
    local base = {
      core.encode_token("abc", 5), core.encode_token("tok-2"), core.encode_token(nil, 1),
      core.encode_token("x\"y", 12),
    }
    for i = 1, 300 do
      local s = base[rand(#base)]
      for _ = 1, rand(3) do
        local at
        repeat -- never inside a UTF-8 sequence: botocore takes a str
          at = rand(#s + 1) - 1
          local b = s:byte(at + 1)
        until b == nil or b < 0x80 or b >= 0xC0
        s = s:sub(1, at) .. junk[rand(#junk)] .. s:sub(at + 1)
      end
      if i % 7 == 0 then
        s = s:gsub("=+$", "")
      elseif i % 11 == 0 then
        s = s .. "=junk"
      end
      inputs[#inputs + 1] = s
    end
    local commands, ours = {}, {}
    for i, s in ipairs(inputs) do
      commands[i] = "dec " .. hex(s)
      ours[i] = our_decode(s)
    end
    local lines, text = oracle(commands)
    assert.are.equal(#inputs, #lines, text)
    for i = 1, #inputs do
      assert.are.equal(lines[i], ours[i], ("input %q"):format(inputs[i]))
    end
  end)

  it("pages, truncates and resumes like botocore's PageIterator", function()
    local shapes = {
      { 5, 5, 5 }, { 3 }, { 0 }, { 1, 0, 2, 0, 0, 3 }, { 4, 4 }, { 7, 7, 7, 4 }, { 10 }, { 0, 0, 2 },
    }
    local limits = { false, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 100 }
    local starts = { false, "tok-2___1", "tok-2", "None___2", core.encode_token("tok-2", 3),
      core.encode_token(nil, 4) }
    local commands, ours = {}, {}
    for _, sizes in ipairs(shapes) do
      for _, limit in ipairs(limits) do
        for _, start in ipairs(starts) do
          local usable = true
          if start and start:find("tok%-2") or start == starts[5] then
            usable = #sizes >= 2
          end
          if usable then
            commands[#commands + 1] = ("run %s %s %s"):format(table.concat(sizes, ","),
              limit or "-", start and hex(start) or "-")
            local serve = service(sizes)
            local token = start or nil
            for _ = 1, 200 do
              local pager = core.new_pager({ executionArn = ARN },
                { max_items = limit or nil, starting_token = token })
              for _, page in ipairs(drive(pager, serve)) do
                ours[#ours + 1] = "page " .. (#page > 0 and table.concat(page, ",") or "-")
              end
              ours[#ours + 1] = "resume " .. (pager.resume_token or "-")
              token = pager.resume_token
              if token == nil then
                break
              end
            end
            ours[#ours + 1] = "end"
          end
        end
      end
    end
    local lines, text = oracle(commands)
    assert.are.equal(#ours, #lines, text:sub(1, 2000))
    for i = 1, #ours do
      assert.are.equal(lines[i], ours[i], "line " .. i)
    end
  end)
end)

-- ---------------------------------------------------------------- new_pager

describe("core.new_pager", function()
  it("validates params and pagination before anything else", function()
    local good = { executionArn = ARN }
    for _, case in ipairs {
      -- { params, pagination, field named in the message }
      { nil, nil, "params" },
      { "arn", nil, "params" },
      { {}, nil, "executionArn" },
      { { executionArn = ARN, maxResults = -1 }, nil, "maxResults" },
      { { executionArn = ARN, bogus = 1 }, nil, "bogus" },
      { good, 5, "pagination" },
      { good, "x", "pagination" },
      { good, { bogus = 1 }, "bogus" },
      { good, { [1] = 5 }, "unknown key" },
      { good, { MaxItems = 5 }, "MaxItems" },
      { good, { max_items = 0 }, "max_items" },
      { good, { max_items = -1 }, "max_items" },
      { good, { max_items = 1.5 }, "max_items" },
      { good, { max_items = "5" }, "max_items" },
      { good, { max_items = 0 / 0 }, "max_items" },
      { good, { max_items = math.huge }, "max_items" },
      { good, { max_items = 2 ^ 53 + 2 }, "max_items" },
      -- an integer one past 2^53 (5.3+) must not round into range
      { good, { max_items = math.tointeger and math.tointeger(2 ^ 53) + 1 or 2 ^ 53 + 2 }, "max_items" },
      { good, { ["max_items\0"] = 5 }, "NUL byte" },
      { good, { max_items = true }, "max_items" },
      { good, { page_size = 0 }, "page_size" },
      { good, { page_size = 1001 }, "page_size" },
      { good, { page_size = 2.5 }, "page_size" },
      { good, { page_size = -math.huge }, "page_size" },
      { good, { page_size = 0 / 0 }, "page_size" },
      { good, { page_size = {} }, "page_size" },
      { good, { starting_token = 5 }, "starting_token" },
      { good, { starting_token = "" }, "starting_token" },
      { good, { starting_token = ("A"):rep(4097) }, "starting_token" },
      { good, { starting_token = "a___b___c" }, "starting_token" },
      { good, { starting_token = "tok___-2" }, "starting_token" },
      { good, { starting_token = "___3" }, "starting_token" },          -- decodes to ""
      { good, { starting_token = ("t"):rep(1025) }, "starting_token" }, -- too long a nextToken
      { good, { starting_token = "\255\254" }, "starting_token" },      -- not UTF-8
      { good, { starting_token = core.encode_token(("t"):rep(1025)) }, "starting_token" },
      { { executionArn = ARN, nextToken = "t" }, { starting_token = "u" }, "starting_token" },
    } do
      local err = raises(core.new_pager, case[1], case[2])
      assert.are.equal("ValidationError", err.code)
      assert.matches(case[3], err.message, 1, true)
    end
  end)

  it("accepts boundary values and integral floats", function()
    for _, pagination in ipairs {
      {}, { max_items = 1 }, { max_items = 2 ^ 53 }, { max_items = 5.0 }, { page_size = 1 },
      { page_size = 1000 }, { page_size = 7.0 }, { starting_token = ("A"):rep(1024) },
      { starting_token = "None" }, { starting_token = core.encode_token(nil, 3) },
    } do
      local pager = core.new_pager({ executionArn = ARN, maxResults = 0 }, pagination)
      assert.is_false(pager.done)
    end
  end)

  it("keeps its own copy of params", function()
    local params = { executionArn = ARN, maxResults = 5 }
    local pager = core.new_pager(params)
    params.executionArn = "changed"
    params.maxResults = 9
    local p = pager:next_params()
    assert.are.same({ executionArn = ARN, maxResults = 5 }, p)
    assert.are_not.equal(params, p)
    assert.are_not.equal(p, pager:next_params()) -- fresh every time
  end)
end)

-- ---------------------------------------------------------------- rules

describe("sfn.Pager", function()
  it("walks many pages and reports its fields", function()
    local sizes = {}
    for i = 1, 60 do
      sizes[i] = i % 4
    end
    local serve, total = service(sizes)
    local pager = core.new_pager { executionArn = ARN }
    assert.is_false(pager.done)
    assert.are.equal(0, pager.pages)
    assert.are.equal(0, pager.items)
    assert.is_nil(pager.resume_token)
    local pages = drive(pager, serve)
    assert.are.equal(60, #pages) -- empty pages included, as boto3 yields them
    assert.are.same(range(1, total), flatten(pages))
    assert.is_true(pager.done)
    assert.are.equal(60, pager.pages)
    assert.are.equal(total, pager.items)
    assert.is_nil(pager.resume_token)
    assert.is_nil(pager:next_params())
    assert.is_nil(pager.bogus)
    assert.is_nil(pager[1])
    assert.matches("sfn.Pager", tostring(pager), 1, true)
  end)

  it("sends the service's token, page_size as maxResults, and no nextToken first", function()
    local log = {}
    local serve = service({ 2, 2, 2 }, log)
    drive(core.new_pager({ executionArn = ARN, maxResults = 50 }, { page_size = 2 }), serve)
    assert.are.same({
      { executionArn = ARN, maxResults = 2 },
      { executionArn = ARN, maxResults = 2, nextToken = "tok-2" },
      { executionArn = ARN, maxResults = 2, nextToken = "tok-3" },
    }, log)
    log = {}
    drive(core.new_pager { executionArn = ARN, maxResults = 50 }, service({ 1, 1 }, log))
    assert.are.same({
      { executionArn = ARN, maxResults = 50 },
      { executionArn = ARN, maxResults = 50, nextToken = "tok-2" },
    }, log)
    log = {}
    drive(core.new_pager { executionArn = ARN, nextToken = "tok-2" }, service({ 1, 1, 1 }, log))
    assert.are.same({
      { executionArn = ARN, nextToken = "tok-2" },
      { executionArn = ARN, nextToken = "tok-3" },
    }, log)
  end)

  it("stops inside a page at max_items with a token botocore would write", function()
    local pager = core.new_pager({ executionArn = ARN }, { max_items = 7 })
    local serve = service { 5, 5, 5 }
    local pages = drive(pager, serve)
    assert.are.same({ { 1, 2, 3, 4, 5 }, { 6, 7 } }, pages)
    assert.is_true(pager.done)
    assert.are.equal(7, pager.items)
    assert.are.equal(2, pager.pages)
    assert.are.equal(core.encode_token("tok-2", 2), pager.resume_token)
    -- the cut page lost its nextToken: the iteration resumes via the token
    local p2 = core.new_pager({ executionArn = ARN }, { max_items = 7 })
    p2:accept(serve(p2:next_params()))
    local page = p2:accept(serve(p2:next_params()))
    assert.is_nil(page.nextToken)
    assert.are.same({ 6, 7 }, page.mapRuns)
  end)

  it("stops on the first page with a null nextToken in the resume token", function()
    local pager = core.new_pager({ executionArn = ARN }, { max_items = 2 })
    assert.are.same({ { 1, 2 } }, drive(pager, service { 5, 5 }))
    assert.are.equal(core.encode_token(nil, 2), pager.resume_token)
  end)

  it("stops on a page boundary with the service's token", function()
    local pager = core.new_pager({ executionArn = ARN }, { max_items = 10 })
    local serve = service { 5, 5, 5 }
    assert.are.same(range(1, 10), flatten(drive(pager, serve)))
    assert.are.equal(core.encode_token("tok-3"), pager.resume_token)
    assert.are.equal(2, pager.pages)
    -- the page keeps its nextToken there: it is a valid continuation
    local p2 = core.new_pager({ executionArn = ARN }, { max_items = 5 })
    assert.are.equal("tok-2", p2:accept(serve(p2:next_params())).nextToken)
    assert.is_true(p2.done)
  end)

  it("ends without a token when max_items is beyond the end or the end itself", function()
    for _, limit in ipairs { 15, 16, 1000 } do
      local pager = core.new_pager({ executionArn = ARN }, { max_items = limit })
      assert.are.same(range(1, 15), flatten(drive(pager, service { 5, 5, 5 })))
      assert.is_nil(pager.resume_token)
      assert.are.equal(15, pager.items)
    end
  end)

  it("resumes exactly after the last item, chain after chain", function()
    for _, sizes in ipairs { { 5, 5, 5 }, { 1, 0, 3, 0, 0, 4, 2 }, { 9 }, { 3, 3, 3, 3 } } do
      for limit = 1, 12 do
        for _, page_size in ipairs { false, 4 } do
          local serve, total = service(sizes)
          local got, token, rounds = {}, nil, 0
          repeat
            rounds = rounds + 1
            local pager = core.new_pager({ executionArn = ARN },
              { max_items = limit, starting_token = token, page_size = page_size or nil })
            local items = flatten(drive(pager, serve))
            assert.is_true(#items <= limit)
            for _, v in ipairs(items) do
              got[#got + 1] = v
            end
            token = pager.resume_token
          until token == nil or rounds > 100
          assert.are.same(range(1, total), got)
        end
      end
    end
  end)

  it("applies a starting token's truncation to the first page only", function()
    local serve = service { 5, 5, 5 }
    local pager = core.new_pager({ executionArn = ARN }, { starting_token = core.encode_token("tok-2", 3) })
    assert.are.same({ { 9, 10 }, { 11, 12, 13, 14, 15 } }, drive(pager, serve))
    assert.are.equal(7, pager.items)
    -- without truncation, and the deprecated forms
    pager = core.new_pager({ executionArn = ARN }, { starting_token = core.encode_token("tok-3") })
    assert.are.same({ { 11, 12, 13, 14, 15 } }, drive(pager, serve))
    pager = core.new_pager({ executionArn = ARN }, { starting_token = "tok-2___4" })
    assert.are.same({ { 10 }, range(11, 15) }, drive(pager, serve))
    pager = core.new_pager({ executionArn = ARN }, { starting_token = "tok-3" }) -- a raw service token
    assert.are.same({ range(11, 15) }, drive(pager, serve))
    pager = core.new_pager({ executionArn = ARN }, { starting_token = "None___2" })
    assert.are.same({ { 3, 4, 5 }, range(6, 10), range(11, 15) }, drive(pager, serve))
    -- truncating more than the page holds leaves it empty
    pager = core.new_pager({ executionArn = ARN }, { starting_token = core.encode_token("tok-2", 9) })
    assert.are.same({ {}, range(11, 15) }, drive(pager, serve))
  end)

  it("counts the starting truncation into the next resume token", function()
    local serve = service { 5, 5, 5 }
    local pager = core.new_pager({ executionArn = ARN },
      { starting_token = core.encode_token("tok-2", 1), max_items = 2 })
    assert.are.same({ { 7, 8 } }, drive(pager, serve))
    assert.are.equal(core.encode_token("tok-2", 3), pager.resume_token)
    -- a starting token that came from params.nextToken is the one sent
    pager = core.new_pager({ executionArn = ARN, nextToken = "tok-2" }, { max_items = 2 })
    assert.are.same({ { 6, 7 } }, drive(pager, serve))
    assert.are.equal(core.encode_token("tok-2", 2), pager.resume_token)
  end)

  it("never sends the token string None, as botocore", function()
    local log = {}
    local pager = core.new_pager({ executionArn = ARN },
      { starting_token = core.encode_token("None", 1), max_items = 1 })
    assert.are.same({ { 2 } }, drive(pager, service({ 3, 3 }, log)))
    assert.is_nil(log[1].nextToken)
    assert.are.equal(core.encode_token("None", 2), pager.resume_token)
  end)

  it("treats an empty nextToken as the end", function()
    local pager = core.new_pager { executionArn = ARN }
    local page = pager:accept { mapRuns = { 1 }, nextToken = "" }
    assert.are.same({ 1 }, page.mapRuns)
    assert.is_true(pager.done)
    assert.is_nil(pager:next_params())
  end)

  it("takes a page without mapRuns as empty", function()
    local pager = core.new_pager({ executionArn = ARN }, { max_items = 1 })
    pager:accept { nextToken = "tok-2" }
    assert.are.equal(0, pager.items)
    assert.are.equal("tok-2", pager:next_params().nextToken)
  end)

  it("ends a listing whose nextTokens cycle, within twice the cycle's length", function()
    for _, cycle in ipairs { { "A", "B" }, { "A", "B", "C" }, { "t1", "t2", "t3", "t4", "t5", "t6", "t7" } } do
      local pager = core.new_pager { executionArn = ARN }
      local accepted, err = 0, nil
      for i = 1, 1000 do
        local ok, e = pcall(pager.accept, pager, { mapRuns = { i }, nextToken = cycle[(i - 1) % #cycle + 1] })
        if not ok then
          err = e
          break
        end
        accepted = accepted + 1
      end
      assert.are.equal("ResponseError", err and err.code)
      assert.matches("returned before", err.message, 1, true)
      assert.is_true(accepted <= 2 * #cycle + 1, #cycle .. "-cycle took " .. accepted .. " pages")
      assert.is_true(pager.done)
    end
    -- distinct tokens page on
    local pager = core.new_pager { executionArn = ARN }
    for i = 1, 5000 do
      pager:accept { mapRuns = {}, nextToken = "tok-" .. i }
    end
    assert.are.equal(5000, pager.pages)
  end)

  it("raises ResponseError when the service repeats the token it was sent", function()
    local pager = core.new_pager { executionArn = ARN }
    pager:accept { mapRuns = { 1 }, nextToken = "again" }
    local err = raises(pager.accept, pager, {
      mapRuns = { 2 },
      nextToken = "again",
      ResponseMetadata = { RequestId = "rid-7", HTTPStatusCode = 200, RetryAttempts = 1 },
    })
    assert.are.equal("ResponseError", err.code)
    assert.matches("same nextToken", err.message, 1, true)
    assert.are.equal("rid-7", err.request_id)
    assert.are.equal(200, err.status)
    assert.are.equal(2, err.attempts)
    assert.are.equal("ListMapRuns", err.operation)
    assert.is_false(err.retryable)
    assert.is_true(pager.done)
    assert.is_nil(pager:next_params())
    -- also when the token came from the caller
    pager = core.new_pager { executionArn = ARN, nextToken = "t" }
    assert.are.equal("ResponseError", raises(pager.accept, pager, { mapRuns = {}, nextToken = "t" }).code)
    -- but not when max_items ends the iteration first (botocore's order)
    pager = core.new_pager({ executionArn = ARN, nextToken = "t" }, { max_items = 1 })
    pager:accept { mapRuns = { 1 }, nextToken = "t" }
    assert.are.equal(core.encode_token("t"), pager.resume_token)
  end)

  it("checks what accept is given", function()
    local pager = core.new_pager { executionArn = ARN }
    for _, case in ipairs {
      { nil, "page" }, { 5, "page" }, { "page", "page" },
      { { mapRuns = 5 }, "page.mapRuns" }, { { mapRuns = "x" }, "page.mapRuns" },
      { { mapRuns = {}, nextToken = 5 }, "page.nextToken" },
      { { mapRuns = {}, nextToken = {} }, "page.nextToken" },
      { { mapRuns = {}, nextToken = "\255" }, "page.nextToken" },
    } do
      local err = raises(pager.accept, pager, case[1])
      assert.are.equal("ValidationError", err.code)
      assert.matches(case[2], err.message, 1, true)
    end
    assert.is_false(pager.done) -- bad input changes nothing
    assert.are.equal(0, pager.pages)
    pager:accept { mapRuns = {} }
    local err = raises(pager.accept, pager, { mapRuns = {} })
    assert.matches("done", err.message, 1, true)
  end)

  it("refuses a wrong self on every method", function()
    local pager = core.new_pager { executionArn = ARN }
    for _, name in ipairs { "next_params", "accept", "close" } do
      for _, self in ipairs { {}, 5, "x", io.stdout } do
        local err = raises(pager[name], self)
        assert.are.equal("ValidationError", err.code)
        assert.matches("sfn.Pager", err.message, 1, true)
      end
    end
  end)

  it("closes: releases the page and ends", function()
    local pager = core.new_pager({ executionArn = ARN }, { max_items = 1 })
    pager:accept { mapRuns = { 1, 2 }, nextToken = "n" }
    local token = pager.resume_token
    pager:close()
    pager:close()
    assert.is_true(pager.done)
    assert.is_nil(pager:next_params())
    assert.are.equal(token, pager.resume_token)
    pager = core.new_pager { executionArn = ARN }
    pager:close()
    assert.is_nil(pager:next_params())
    assert.are.equal("ValidationError", raises(pager.accept, pager, { mapRuns = {} }).code)
  end)

  it("survives its own __gc being run early", function()
    local pager = core.new_pager { executionArn = ARN }
    local gc = getmetatable(pager).__gc
    gc(pager)
    gc(pager)
    assert.is_true(pager.done)
    assert.is_nil(pager:next_params())
    assert.is_nil(pager.resume_token)
    assert.are.equal("ValidationError", raises(pager.accept, pager, {}).code)
    pager:close()
    for _ = 1, 200 do
      core.new_pager({ executionArn = ARN }, { max_items = 3 }):accept { mapRuns = { 1, 2, 3, 4 } }
    end
    collectgarbage()
    collectgarbage()
  end)

  if _VERSION == "Lua 5.4" then
    it("closes as a to-be-closed variable", function()
      local chunk = assert(load [[
        local core, arn = ...
        local kept
        do
          local pager <close> = core.new_pager { executionArn = arn }
          kept = pager
        end
        return kept
      ]])
      local pager = chunk(core, ARN)
      assert.is_true(pager.done)
    end)
  end
end)

-- ---------------------------------------------------------------- iterators

describe("client:pages / client:items", function()
  local Client = debug.getregistry()["sfn.Client"]

  it("are methods of sfn.Client", function()
    assert.is_function(Client.pages)
    assert.is_function(Client.items)
  end)

  it("refuse a wrong self and bad arguments before any I/O", function()
    for _, name in ipairs { "pages", "items" } do
      for _, self in ipairs { {}, 5, "x" } do
        local err = raises(Client[name], self, { executionArn = ARN })
        assert.are.equal("ValidationError", err.code)
        assert.matches("sfn.Client", err.message, 1, true)
      end
    end
  end)

  if core.new_client then
    local function client()
      -- nothing listens on port 9 of 127.0.0.1 here: every fetch fails fast
      return core.new_client {
        endpoint = "http://127.0.0.1:9",
        region = "us-east-1",
        credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "secret" },
        max_attempts = 1,
        connect_timeout = 2,
        timeout = 5,
      }
    end

    it("return iterator, pager, nil (and the pager to close on 5.4)", function()
      for _, name in ipairs { "pages", "items" } do
        local c = client()
        local r = pack(c[name](c, { executionArn = ARN }, { max_items = 2 }))
        assert.is_function(r[1])
        assert.are.equal("sfn.Pager", (tostring(r[2]):match("^sfn%.Pager")))
        assert.is_nil(r[3])
        if _VERSION == "Lua 5.4" then
          assert.are.equal(4, r.n)
          assert.are.equal(r[2], r[4])
        end
        local err = raises(c[name], c, { executionArn = ARN }, { page_size = 0 })
        assert.matches("page_size", err.message, 1, true)
      end
    end)

    it("raise the fetch error, then return nil", function()
      for _, name in ipairs { "pages", "items" } do
        local c = client()
        local iterate, state = c[name](c, { executionArn = ARN })
        assert.is_false(state.done)
        local err = raises(iterate, state)
        assert.is_truthy(err.code == "TransportError" or err.code == "TimeoutError", err.code)
        assert.is_true(state.done)
        assert.is_nil(iterate(state))
        assert.is_nil(iterate(state))
        assert.are.equal(0, state.pages)
      end
    end)

    it("return nil once the pager is closed", function()
      for _, name in ipairs { "pages", "items" } do
        local c = client()
        local iterate, state = c[name](c, { executionArn = ARN })
        state:close()
        assert.is_nil(iterate(state))
      end
    end)
  end
end)

-- ---------------------------------------------------------------- live

-- The iterator closures against the stand-in (spec/standin), with boto3's
-- paginator against the same server as the oracle: same pages, same items,
-- byte-identical resume tokens (the stand-in's tokens are deterministic
-- within one server process).
local BOTO3_ORACLE = [==[
import os, sys
import boto3
from botocore.config import Config
url, key, secret, prefix = sys.argv[1:5]
client = boto3.client("stepfunctions", region_name="us-east-1", endpoint_url=url,
                      aws_access_key_id=key, aws_secret_access_key=secret,
                      config=Config(retries={"total_max_attempts": 1}))
out = []
for line in open(sys.argv[5]):
    name, max_items, page_size, start = line.split()
    config = {}
    if max_items != "-":
        config["MaxItems"] = int(max_items)
    if page_size != "-":
        config["PageSize"] = int(page_size)
    for _ in range(100):
        if start != "-":
            config["StartingToken"] = start
        pages = client.get_paginator("list_map_runs").paginate(
            executionArn=prefix + name, PaginationConfig=dict(config))
        for page in pages:
            out.append("page " + (",".join(r["mapRunArn"][-12:] for r in page["mapRuns"]) or "-"))
        out.append("resume " + (pages.resume_token or "-"))
        if pages.resume_token is None:
            break
        start = pages.resume_token
    out.append("end")
sys.stdout.write("\n".join(out) + "\n")
]==]

describe("client:pages / client:items against the stand-in", function()
  local standin_ok, standin = pcall(require, "standin")
  local server, why

  setup(function()
    if not standin_ok then
      why = "spec/standin.lua is not loadable: " .. tostring(standin)
      return
    end
    local ok, s = pcall(standin.start)
    if ok then
      server = s
    else
      why = "the stand-in did not start: " .. tostring(s)
    end
  end)

  teardown(function()
    if server then
      server:stop()
    end
  end)

  local function client()
    if not server then
      pending(why)
      error("pending")
    end
    return core.new_client(server:client_config { max_attempts = 1 })
  end

  local function arn(name)
    return server:arn(name)
  end

  -- Our side of the boto3 oracle: the same lines from client:pages.
  local function our_chain(c, name, max_items, page_size, start)
    local out = {}
    for _ = 1, 100 do
      local iterate, state = c:pages({ executionArn = arn(name) },
        { max_items = max_items, page_size = page_size, starting_token = start })
      for page in iterate, state do
        local ids = {}
        for i, run in ipairs(page.mapRuns) do
          ids[i] = run.mapRunArn:sub(-12)
        end
        out[#out + 1] = "page " .. (#ids > 0 and table.concat(ids, ",") or "-")
      end
      out[#out + 1] = "resume " .. (state.resume_token or "-")
      start = state.resume_token
      if start == nil then
        break
      end
    end
    out[#out + 1] = "end"
    return out
  end

  it("page, stop and resume exactly as boto3's paginator", function()
    local c = client()
    if botocore_status() then
      pending(botocore_status())
      return
    end
    local missing = support.capture([[python3 -c 'import boto3' 2>&1]])
    if missing ~= "" then
      pending("boto3 is not importable by python3: " .. missing)
      return
    end
    local cases = {
      { "runs-25", nil, 7 }, { "runs-25", 10, 7 }, { "runs-25", 7, 7 }, { "runs-25", 3, nil },
      { "runs-25", 1, 4 }, { "runs-25", 25, 5 }, { "runs-25", 26, 5 }, { "runs-250", 120, nil },
      { "none", 3, 2 }, { "runs-3", nil, nil }, { "runs-12", 5, 10 },
    }
    local commands, ours = {}, {}
    for i, case in ipairs(cases) do
      commands[i] = ("%s %s %s -"):format(case[1], case[2] or "-", case[3] or "-")
      for _, line in ipairs(our_chain(c, case[1], case[2], case[3])) do
        ours[#ours + 1] = line
      end
    end
    local script, input = os.tmpname(), os.tmpname()
    support.write_file(script, BOTO3_ORACLE)
    support.write_file(input, table.concat(commands, "\n") .. "\n")
    local cred = server.credentials[1]
    local text = support.capture(table.concat({
      "env AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
      "AWS_EC2_METADATA_DISABLED=true NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 python3",
      script, server.url, cred.access_key_id, "'" .. cred.secret_access_key .. "'",
      arn(""), input, "2>&1" }, " "))
    os.remove(script)
    os.remove(input)
    local lines = {}
    for line in text:gmatch("([^\n]*)\n") do
      lines[#lines + 1] = line
    end
    assert.are.equal(#ours, #lines, text:sub(1, 3000))
    for i = 1, #ours do
      assert.are.equal(lines[i], ours[i], "line " .. i)
    end
  end)

  it("walk every item in order with one request per page", function()
    local c = client()
    server:reset()
    local iterate, state = c:items { executionArn = arn("runs-250"), maxResults = 100 }
    local starts = {}
    for run in iterate, state do
      starts[#starts + 1] = run.startDate
    end
    assert.are.equal(250, #starts)
    for i = 2, #starts do
      assert.is_true(starts[i] > starts[i - 1])
    end
    assert.are.equal(3, server:stats().requests)
    assert.are.equal(3, state.pages)
    assert.are.equal(250, state.items)
    assert.is_true(state.done)
    assert.is_nil(state.resume_token)
    assert.is_nil(iterate(state))
  end)

  it("stop at max_items without an extra request and resume after the last item", function()
    local c = client()
    local all = {}
    for run in c:items { executionArn = arn("runs-25") } do
      all[#all + 1] = run.mapRunArn
    end
    server:reset()
    local got = {}
    local iterate, state = c:items({ executionArn = arn("runs-25") }, { max_items = 3, page_size = 7 })
    for run in iterate, state do
      got[#got + 1] = run.mapRunArn
    end
    assert.are.equal(1, server:stats().requests)
    assert.is_string(state.resume_token)
    local token = state.resume_token
    repeat
      iterate, state = c:items({ executionArn = arn("runs-25") },
        { max_items = 4, page_size = 7, starting_token = token })
      for run in iterate, state do
        got[#got + 1] = run.mapRunArn
      end
      token = state.resume_token
    until token == nil
    assert.are.same(all, got)
  end)

  it("yield an empty page but no item for an execution without Map Runs", function()
    local c = client()
    local pages = {}
    for page in c:pages { executionArn = arn("none") } do
      pages[#pages + 1] = page
    end
    assert.are.equal(1, #pages)
    assert.are.same({}, pages[1].mapRuns)
    for _ in c:items { executionArn = arn("none") } do
      error("no item expected")
    end
  end)

  it("raise the service's error, then return nil", function()
    local c = client()
    for _, case in ipairs {
      { "pages", "missing", "ExecutionDoesNotExist" },
      { "items", "missing", "ExecutionDoesNotExist" },
      { "items", "access-denied", "AccessDeniedException" },
    } do
      local iterate, state = c[case[1]](c, { executionArn = arn(case[2]) })
      local err = raises(iterate, state)
      assert.are.equal(case[3], err.code)
      assert.is_true(state.done)
      assert.is_nil(iterate(state))
    end
    -- a starting token that is no token at all goes to the service raw
    local iterate, state = c:items({ executionArn = arn("runs-3") }, { starting_token = "garbage" })
    assert.are.equal("InvalidToken", raises(iterate, state).code)
  end)

  if _VERSION == "Lua 5.4" then
    it("close the pager when a loop breaks (to-be-closed value)", function()
      local c = client()
      local chunk = assert(load [[
        local c, params = ...
        local iterate, state, _, closing = c:items(params)
        for _ in iterate, state, nil, closing do
          break
        end
        return state
      ]])
      local state = chunk(c, { executionArn = arn("runs-25") })
      assert.is_true(state.done)
      assert.are.equal(1, state.pages)
    end)
  end
end)

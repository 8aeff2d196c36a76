-- SigV4 signing (src/sigv4.c) through core.sign: the 39 known-answer cases
-- in spec/fixtures/sigv4 (see its README), the signing-key cache, argument
-- checking, and a cross-check against botocore's own signer.
local core = require "sfn.core"
local support = require "support"

local FIXTURES = "spec/fixtures/sigv4"
local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local EPOCH = 1440938160 -- 2015-08-30T12:36:00Z

local function read_file(path)
  return assert(support.read_file(path))
end

local write_file = support.write_file

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A small JSON reader: enough for context.json (objects, strings with the
-- usual escapes, numbers, booleans, null).
local function json_decode(s)
  local pos = 1
  local escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
  local value
  local function skip()
    pos = s:find("[^ \t\r\n]", pos) or #s + 1
  end
  local function fail(what)
    error(("JSON: %s at byte %d"):format(what, pos), 0)
  end
  local function string_value()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == '"' then
        pos = pos + 1
        return table.concat(out)
      elseif c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        if e == "u" then
          local cp = tonumber(s:sub(pos + 2, pos + 5), 16)
          if not cp or cp > 127 then fail("unsupported \\u escape") end
          out[#out + 1] = string.char(cp)
          pos = pos + 6
        elseif escapes[e] then
          out[#out + 1] = escapes[e]
          pos = pos + 2
        else
          fail("bad escape")
        end
      elseif c == "" then
        fail("unterminated string")
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "}" then
        pos = pos + 1
        return t
      end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then fail("expected a key") end
        local k = string_value()
        skip()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        t[k] = value()
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "]" then
        pos = pos + 1
        return t
      end
      while true do
        t[#t + 1] = value()
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return string_value()
    elseif s:find("^true", pos) then
      pos = pos + 4
      return true
    elseif s:find("^false", pos) then
      pos = pos + 5
      return false
    elseif s:find("^null", pos) then
      pos = pos + 4
      return nil
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then fail("unexpected character") end
      pos = pos + #num
      return tonumber(num)
    end
  end
  local v = value()
  skip()
  if pos <= #s then fail("trailing text") end
  return v
end

-- request.txt as the fixture README describes it: "METHOD <path[?query]>
-- HTTP/1.1", then Name:value lines (a line starting with whitespace
-- continues the previous value: joined with one space after trimming), then
-- optionally an empty line and the body (no final newline).
local function parse_request(text)
  local head, body = text:match("^(.-)\n\n(.*)$")
  if not head then
    head, body = text:gsub("\n$", ""), ""
  end
  local lines = {}
  for line in (head .. "\n"):gmatch("(.-)\n") do
    lines[#lines + 1] = line
  end
  local method, target = lines[1]:match("^(%S+) (.*) HTTP/1%.1$")
  assert(method, "bad request line: " .. lines[1])
  local path, query = target:match("^([^?]*)%?(.*)$")
  if not path then path = target end
  local headers = {}
  for i = 2, #lines do
    local line = lines[i]
    if line:find("^%s") then
      local last = assert(headers[#headers], "continuation before any header")
      last[2] = trim(last[2]) .. " " .. trim(line)
    else
      local name, value = line:match("^([^:]+):(.*)$")
      assert(name, "bad header line: " .. line)
      headers[#headers + 1] = { name, value }
    end
  end
  return { method = method, path = path, query = query, headers = headers, body = body, head_lines = lines }
end

local function fixture_cases()
  local cases = {}
  local p = assert(io.popen("ls " .. FIXTURES))
  for name in p:lines() do
    local f = io.open(FIXTURES .. "/" .. name .. "/request.txt", "rb")
    if f then -- a case folder; README, LICENSE and NOTICE are skipped
      f:close()
      cases[#cases + 1] = name
    end
  end
  p:close()
  table.sort(cases)
  return cases
end

-- "2015-08-30T12:36:00Z" -> "20150830T123600Z"
local function amz_date(iso)
  return (iso:gsub("[-:]", ""))
end

local function sign_args(dir)
  local req = parse_request(read_file(dir .. "/request.txt"))
  local ctx = json_decode(read_file(dir .. "/context.json"))
  local token = ctx.credentials.token
  return {
    method = req.method,
    path = req.path,
    query = req.query,
    headers = req.headers,
    body = req.body,
    access_key_id = ctx.credentials.access_key_id,
    secret_access_key = ctx.credentials.secret_access_key,
    session_token = token,
    region = ctx.region,
    service = ctx.service,
    timestamp = amz_date(ctx.timestamp),
    normalize = ctx.normalize ~= false,
    sign_body = ctx.sign_body == true and ctx.content_sha256_header ~= false,
    omit_session_token = ctx.omit_session_token == true,
  }, req
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do
    c[k] = v
  end
  return c
end

local function vanilla(over)
  local t = {
    method = "POST",
    path = "/",
    headers = {
      { "Host", "states.us-east-1.amazonaws.com" },
      { "Content-Type", "application/x-amz-json-1.0" },
      { "X-Amz-Target", "AWSStepFunctions.ListMapRuns" },
    },
    body = '{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:demo:run-1","maxResults":10}',
    access_key_id = KEY,
    secret_access_key = SECRET,
    session_token = "FQoGZXIvYXdzEXAMPLE",
    region = "us-east-1",
    service = "states",
    timestamp = "20150830T123600Z",
  }
  for k, v in pairs(over or {}) do
    t[k] = v
  end
  return t
end

local function sign_error(t)
  local ok, err = pcall(core.sign, t)
  assert.is_false(ok, "core.sign did not raise")
  assert.is_true(core.is_error(err), "not an sfn.Error: " .. tostring(err))
  return err
end

local function validation_error(t, mentions)
  local err = sign_error(t)
  assert.are.equal("ValidationError", err.code)
  if mentions then
    assert.is_truthy(err.message:find(mentions, 1, true),
      ("message %q does not mention %q"):format(err.message, mentions))
  end
  return err
end

describe("SigV4 known-answer cases", function()
  local cases = fixture_cases()

  it("has all 39 case folders with the licence files", function()
    assert.are.equal(39, #cases)
    for _, f in ipairs { "LICENSE", "NOTICE", "README.md" } do
      assert.is_truthy(io.open(FIXTURES .. "/" .. f, "rb"), f .. " missing")
    end
  end)

  for _, name in ipairs(cases) do
    it(name, function()
      local dir = FIXTURES .. "/" .. name
      local args, req = sign_args(dir)
      local r = core.sign(args)
      assert.are.equal(read_file(dir .. "/header-canonical-request.txt"), r.canonical_request)
      assert.are.equal(read_file(dir .. "/header-string-to-sign.txt"), r.string_to_sign)
      assert.are.equal(read_file(dir .. "/header-signature.txt"), r.signature)
      local signed = read_file(dir .. "/header-signed-request.txt")
      local expected = signed:match("\nAuthorization:([^\n]*)\n")
      assert.is_truthy(expected, "no Authorization line")
      assert.are.equal(expected, r.authorization)

      -- The headers the signer added are exactly the extra lines of the
      -- signed request (order not significant), Authorization last.
      local given = {}
      for _, line in ipairs(req.head_lines) do
        given[line] = true
      end
      local want, got = {}, {}
      for line in (signed:match("^(.-)\n\n") .. "\n"):gmatch("(.-)\n") do
        if not given[line] then want[#want + 1] = line end
      end
      for _, h in ipairs(r.headers) do
        got[#got + 1] = h[1] .. ":" .. h[2]
      end
      assert.are.equal("Authorization", r.headers[#r.headers][1])
      table.sort(want)
      table.sort(got)
      assert.are.same(want, got)
    end)
  end

  it("takes the timestamp as epoch seconds too", function()
    local args = sign_args(FIXTURES .. "/sfn-list-map-runs")
    local want = core.sign(args).authorization
    args.timestamp = EPOCH
    assert.are.equal(want, core.sign(args).authorization)
    args.timestamp = EPOCH + 0.75 -- the fraction is dropped
    assert.are.equal(want, core.sign(args).authorization)
  end)

  it("signs the same without the cache", function()
    for _, name in ipairs(cases) do
      local args = sign_args(FIXTURES .. "/" .. name)
      local cached = core.sign(args)
      args.cache = false
      local uncached = core.sign(args)
      assert.are.equal(cached.authorization, uncached.authorization)
    end
  end)
end)

describe("SigV4 signing-key cache", function()
  it("gives the same signature twice with the same cache", function()
    local a = core.sign(vanilla())
    local b = core.sign(vanilla())
    assert.are.equal(a.authorization, b.authorization)
    assert.are.equal("5922688b3ce2870044c884248f97a9768bb64f6606c0b0df918a0df4e172ec9d", b.signature)
  end)

  local changes = {
    { "secret", { secret_access_key = SECRET .. "x" } },
    { "secret of the same length", { secret_access_key = "x" .. SECRET:sub(2) } },
    { "date", { timestamp = "20150831T123600Z" } },
    { "region", { region = "us-west-2" } },
    { "service", { service = "sts" } },
  }
  for _, c in ipairs(changes) do
    it("derives a new key when the " .. c[1] .. " changes", function()
      local first = core.sign(vanilla()).signature
      local changed = core.sign(vanilla(c[2])).signature
      local uncached = core.sign(vanilla(copy(c[2]))) -- same again, from the cache
      local over = copy(c[2])
      over.cache = false
      assert.are_not.equal(first, changed)
      assert.are.equal(changed, uncached.signature)
      assert.are.equal(changed, core.sign(vanilla(over)).signature)
      assert.are.equal(first, core.sign(vanilla()).signature)
    end)
  end

  it("keeps the same key within one day", function()
    local a = core.sign(vanilla { timestamp = "20150830T000000Z" })
    local b = core.sign(vanilla { timestamp = "20150830T235959Z" })
    assert.are_not.equal(a.signature, b.signature) -- the timestamp is signed
    local c = core.sign(vanilla { timestamp = "20150830T235959Z", cache = false })
    assert.are.equal(b.signature, c.signature)
  end)

  it("handles scopes too long for the cache and long secrets", function()
    local region = ("r"):rep(100)
    local service = ("s"):rep(50)
    local secret = ("k"):rep(300)
    local a = core.sign(vanilla { region = region, service = service, secret_access_key = secret })
    local b = core.sign(vanilla { region = region, service = service, secret_access_key = secret, cache = false })
    assert.are.equal(a.authorization, b.authorization)
    assert.is_truthy(a.string_to_sign:find("20150830/" .. region .. "/" .. service .. "/aws4_request", 1, true))
  end)
end)

describe("core.sign arguments", function()
  it("wants a table", function()
    for _, v in ipairs { "x", 1, true } do
      validation_error(v, "expected a table")
    end
    validation_error(nil, "expected a table")
  end)

  local wrong = {
    method = { 1, true, {} },
    path = { 1, false, {} },
    query = { 1, true, {} },
    body = { 1, true, {} },
    access_key_id = { 1, true, {} },
    secret_access_key = { 1, true, {} },
    session_token = { 1, true, {} },
    region = { 1, true, {} },
    service = { 1, true, {} },
    timestamp = { true, {}, "2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z", "20150830X123600Z", -1, 1e13, 0 / 0 },
    normalize = { 1, "yes", {} },
    sign_body = { 1, "yes", {} },
    omit_session_token = { 0, "no", {} },
    cache = { 1, "yes", {} },
    headers = { "Host:x", 1, true },
  }
  local names = {}
  for field in pairs(wrong) do
    names[#names + 1] = field
  end
  table.sort(names)
  for _, field in ipairs(names) do
    it("rejects a wrong " .. field, function()
      for _, v in ipairs(wrong[field]) do
        validation_error(vanilla { [field] = v }, "'" .. field .. "'")
      end
    end)
  end

  it("rejects missing required fields", function()
    for _, field in ipairs { "method", "path", "access_key_id", "secret_access_key", "region", "service", "timestamp" } do
      local t = vanilla()
      t[field] = nil
      validation_error(t, "'" .. field .. "'")
    end
  end)

  it("accepts absent optional fields", function()
    local t = vanilla()
    t.headers, t.body, t.session_token, t.query = nil, nil, nil, nil
    local r = core.sign(t)
    assert.are.equal("POST\n/\n\nx-amz-date:20150830T123600Z\n\nx-amz-date\n"
      .. "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", r.canonical_request)
    assert.are.equal(2, #r.headers)
  end)

  it("rejects empty and malformed scalar fields", function()
    validation_error(vanilla { method = "" }, "'method'")
    validation_error(vanilla { method = "GET /" }, "'method'")
    validation_error(vanilla { access_key_id = "" }, "'access_key_id'")
    validation_error(vanilla { access_key_id = "AKID/x" }, "'access_key_id'")
    validation_error(vanilla { secret_access_key = "" }, "'secret_access_key'")
    validation_error(vanilla { region = "" }, "'region'")
    validation_error(vanilla { region = "us-east-1/x" }, "'region'")
    validation_error(vanilla { service = "states\n" }, "'service'")
  end)

  it("rejects unknown fields", function()
    validation_error(vanilla { sessiontoken = "x" }, "'sessiontoken'")
    local t = vanilla()
    t[1] = "x"
    validation_error(t, "unknown field")
  end)

  it("rejects malformed headers", function()
    validation_error(vanilla { headers = { "Host" } }, "headers[1]")
    validation_error(vanilla { headers = { { "Host" } } }, "headers[1]")
    validation_error(vanilla { headers = { { "Host", 1 } } }, "headers[1]")
    validation_error(vanilla { headers = { { 1, "x" } } }, "headers[1]")
    validation_error(vanilla { headers = { { "Host", "h" }, { "", "x" } } }, "headers[2]")
    validation_error(vanilla { headers = { { "Ho st", "x" } } }, "headers[1]")
    validation_error(vanilla { headers = { { "Host:", "x" } } }, "headers[1]")
    validation_error(vanilla { headers = { { "Host\n", "x" } } }, "headers[1]")
    local many = {}
    for i = 1, 1001 do
      many[i] = { "X-H" .. i, "v" }
    end
    validation_error(vanilla { headers = many }, "headers")
  end)

  it("rejects CR and LF in header values and the token", function()
    for _, v in ipairs { "a\rb", "a\nb", "a\r\nX-Evil: 1", "\n", "a\0b" } do
      local err = validation_error(vanilla { headers = { { "Host", "h" }, { "X-Custom", v } } }, "headers[2]")
      assert.is_truthy(err.message:find("X-Custom", 1, true))
      validation_error(vanilla { session_token = v }, "'session_token'")
    end
  end)

  it("rejects headers the signer adds itself", function()
    validation_error(vanilla { headers = { { "authorization", "x" } } }, "headers[1]")
    validation_error(vanilla { headers = { { "X-AMZ-DATE", "x" } } }, "headers[1]")
    validation_error(vanilla { headers = { { "X-Amz-Security-Token", "x" } } }, "headers[1]")
    validation_error(vanilla { sign_body = true, headers = { { "x-amz-content-sha256", "x" } } }, "headers[1]")
    -- without a token or sign_body they are ordinary headers
    local t = vanilla { headers = { { "X-Amz-Security-Token", "t" } } }
    t.session_token = nil
    local r = core.sign(t)
    assert.is_truthy(r.canonical_request:find("\nx-amz-security-token:t\n", 1, true))
  end)

  it("treats an empty session token as none", function()
    local a = core.sign(vanilla { session_token = "" })
    local t = vanilla()
    t.session_token = nil
    local b = core.sign(t)
    assert.are.equal(b.authorization, a.authorization)
    assert.are.equal(2, #a.headers)
  end)

  it("raises a complete sfn.Error", function()
    local err = sign_error(vanilla { region = 5 })
    assert.are.equal("ListMapRuns", err.operation)
    assert.is_false(err.retryable)
    assert.is_truthy(tostring(err):find("ValidationError", 1, true))
  end)

  it("leaves no globals behind", function()
    local before = {}
    for k in pairs(_G) do
      before[k] = true
    end
    core.sign(vanilla())
    pcall(core.sign, vanilla { region = 1 })
    for k in pairs(_G) do
      assert.is_true(before[k], "new global " .. tostring(k))
    end
  end)
end)

describe("SigV4 OpenSSL failures", function()
  -- Only the null provider active: OpenSSL can fetch no digest at all.
  local NULL_PROVIDER = table.concat({
    "openssl_conf = openssl_init",
    "[openssl_init]",
    "providers = provider_sect",
    "[provider_sect]",
    "null = null_sect",
    "[null_sect]",
    "activate = 1",
  }, "\n") .. "\n"
  local CHILD = [[
local core = require "sfn.core"
local t = { method = "POST", path = "/", headers = { { "Host", "h" } }, access_key_id = "AKID",
  secret_access_key = "secret", region = "us-east-1", service = "states", timestamp = 0 }
for _, body in ipairs { "", "{}" } do
  t.body = body
  local ok, e = pcall(core.sign, t)
  if ok then
    print("signed")
  else
    print(core.is_error(e) and e.code or "?", tostring(e.retryable), e.message)
  end
end
]]

  it("raises a non-retryable ConfigError when OpenSSL cannot hash", function()
    local lua = arg and arg[-1]
    if type(lua) ~= "string" then pending("cannot tell which interpreter runs busted") end
    local cnf, child = os.tmpname(), os.tmpname()
    write_file(cnf, NULL_PROVIDER)
    write_file(child, CHILD)
    local out = support.capture(("OPENSSL_CONF='%s' LUA_CPATH='%s' %s '%s' 2>&1"):format(cnf, package.cpath, lua, child))
    os.remove(cnf)
    os.remove(child)
    local lines = {}
    for l in out:gmatch("[^\n]+") do
      lines[#lines + 1] = l
    end
    assert.are.equal(2, #lines, out)
    for _, l in ipairs(lines) do
      assert.is_truthy(l:find("^ConfigError\tfalse\tSigV4: OpenSSL SHA%-256 failed %(.+%)$"), l)
      assert.is_falsy(l:find("secret", 1, true))
    end
  end)
end)

describe("SigV4 canonical forms beyond the fixtures", function()
  local function creq(over)
    return core.sign(vanilla(over)).canonical_request
  end
  local function line(s, n)
    local i = 0
    for l in (s .. "\n"):gmatch("(.-)\n") do
      i = i + 1
      if i == n then return l end
    end
  end

  it("normalizes paths as botocore does", function()
    local cases = {
      { "", "/" },
      { "/", "/" },
      { "//", "/" },
      { "/a/./b/../c", "/a/c" },
      { "/a/..", "/" },
      { "/a/../", "/" },
      { "/a/.", "/a" },
      { "/a/b/", "/a/b/" },
      { "/../../a", "/a" },
      { "a/b", "a/b" },
      { "/a b/%2F/~x", "/a%20b/%252F/~x" },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], line(creq { path = c[1] }, 2), "path " .. c[1])
    end
    assert.are.equal("//a/./b/../", line(creq { path = "//a/./b/../", normalize = false }, 2))
    assert.are.equal("/", line(creq { path = "", normalize = false }, 2))
  end)

  it("canonicalizes queries", function()
    local cases = {
      { "b=2&a=1", "a=1&b=2" },
      { "a=2&a=1&a=10", "a=1&a=10&a=2" },
      { "a&b=", "a=&b=" },
      { "a=1&&b=2&", "a=1&b=2" },
      { "k=a%2fb&j=x+y", "j=x%2By&k=a%2Fb" },
      { "k=%zz&l=%4", "k=%25zz&l=%254" },
      { "x=a=b", "x=a%3Db" },
      { "%7E=%41", "~=A" },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(c[2], line(creq { query = c[1] }, 3), "query " .. c[1])
    end
  end)

  it("handles long canonical requests, many headers and long paths", function()
    local headers = { { "Host", "example.amazonaws.com" } }
    for i = 40, 1, -1 do
      headers[#headers + 1] = { ("X-H%02d"):format(i % 7), "  v" .. i .. "   x\t y  " }
    end
    local r = core.sign(vanilla { headers = headers, session_token = ("T"):rep(5000), path = ("/seg"):rep(300) })
    local want = { "host:example.amazonaws.com" }
    for k = 0, 6 do
      local vals = {}
      for i = 40, 1, -1 do
        if i % 7 == k then vals[#vals + 1] = "v" .. i .. " x y" end
      end
      want[#want + 1] = ("x-h%02d:"):format(k) .. table.concat(vals, ",")
    end
    want[#want + 1] = "x-amz-date:20150830T123600Z"
    want[#want + 1] = "x-amz-security-token:" .. ("T"):rep(5000)
    table.sort(want)
    local block = r.canonical_request:match("^[^\n]*\n[^\n]*\n[^\n]*\n(.-)\n\n")
    assert.are.equal(table.concat(want, "\n"), block)
    assert.are.equal(("/seg"):rep(300), line(r.canonical_request, 2))
  end)
end)

-- Hex so that any bytes survive the trip to Python; "-" is the empty string.
local function hex(s)
  if s == "" then return "-" end
  return (s:gsub(".", function(c)
    return ("%02x"):format(c:byte())
  end))
end

local BOTOCORE_SCRIPT = [==[
import binascii, datetime, sys
from unittest import mock
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

def unhex(x):
    return b"" if x == "-" else binascii.unhexlify(x)

for line in open(sys.argv[1]):
    f = line.split()
    if not f:
        continue
    method, host, path, query, body, akid, secret, token, region, service, ts = (
        unhex(x) for x in f[:11])
    url = "https://%s%s" % (host.decode(), path.decode())
    if query:
        url += "?" + query.decode()
    req = AWSRequest(method=method.decode(), url=url, data=body)
    for i in range(11, len(f), 2):
        # HTTPHeaders appends on assignment, so repeats are kept in order.
        req.headers[unhex(f[i]).decode()] = unhex(f[i + 1]).decode()
    creds = Credentials(akid.decode(), secret.decode(), token.decode() or None)
    signer = botocore.auth.SigV4Auth(creds, service.decode(), region.decode())
    when = datetime.datetime.strptime(ts.decode(), "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer.add_auth(req)
    print(req.headers["Authorization"])
]==]

local function botocore_available()
  return support.run("python3 -c 'import botocore.auth' >/dev/null 2>&1")
end

describe("SigV4 against botocore", function()
  it("signs generated requests as botocore.auth.SigV4Auth does", function()
    if not botocore_available() then
      pending("botocore is not importable by python3: cross-check skipped")
    end
    math.randomseed(20150830)
    local function rand_string(n, alphabet)
      local out = {}
      for i = 1, n do
        local k = math.random(#alphabet)
        out[i] = alphabet:sub(k, k)
      end
      return table.concat(out)
    end
    local alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    local cases = {}
    local function add(t)
      cases[#cases + 1] = t
    end
    for i = 1, 24 do
      local body = ('{"executionArn":"arn:aws:states:us-west-2:123456789012:execution:%s:%s","maxResults":%d%s}'):format(
        rand_string(math.random(1, 40), alnum .. "-_"), rand_string(math.random(1, 60), alnum .. "-_"),
        math.random(0, 1000),
        i % 3 == 0 and (',"nextToken":"%s"'):format(rand_string(math.random(1, 300), alnum .. "+/=")) or "")
      add {
        host = "states.us-west-2.amazonaws.com",
        path = "/",
        body = body,
        headers = { { "Content-Type", "application/x-amz-json-1.0" }, { "X-Amz-Target", "AWSStepFunctions.ListMapRuns" } },
        access_key_id = (i % 2 == 0 and "ASIA" or "AKIA") .. rand_string(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
        secret_access_key = rand_string(40, alnum .. "+/"),
        session_token = i % 2 == 0 and rand_string(math.random(100, 1200), alnum .. "+/=") or nil,
        region = ({ "us-west-2", "us-east-1", "eu-central-1", "ap-southeast-2" })[i % 4 + 1],
        service = "states",
        timestamp = os.date("!%Y%m%dT%H%M%SZ", 1600000000 + math.random(0, 200000000)),
      }
    end
    -- The spill and scratch paths: many and repeated headers with messy
    -- whitespace, a long token, secret, path and query.
    local many = { { "Content-Type", "application/x-amz-json-1.0" } }
    for i = 1, 45 do
      many[#many + 1] = { "X-Custom-" .. (i % 9), "  a" .. i .. "   b\t\tc  " }
    end
    add {
      host = "states.us-west-2.amazonaws.com",
      path = "/a//b/./c/../" .. ("segment/"):rep(80) .. "end space/\225\136\180",
      query = "b=2&a=1&a=0&" .. ("k" .. ("x"):rep(20) .. "=v&"):rep(30) .. "z=~",
      body = rand_string(5000, alnum),
      headers = many,
      access_key_id = "AKIAEXAMPLE",
      secret_access_key = rand_string(300, alnum),
      session_token = rand_string(6000, alnum .. "+/="),
      region = "us-west-2",
      service = "states",
      timestamp = "20240229T235959Z",
    }
    -- "AWS4" + secret around one 64-byte HMAC block: kept as is up to 64
    -- bytes, hashed first above.
    for _, n in ipairs { 59, 60, 61, 124 } do
      add {
        host = "states.us-east-1.amazonaws.com",
        path = "/",
        body = "{}",
        headers = { { "Content-Type", "application/x-amz-json-1.0" } },
        access_key_id = "AKIAEXAMPLE",
        secret_access_key = rand_string(n, alnum .. "+/"),
        region = "us-east-1",
        service = "states",
        timestamp = "20250101T000000Z",
      }
    end

    local lines, ours = {}, {}
    for i, c in ipairs(cases) do
      local fields = {
        hex "POST", hex(c.host), hex(c.path), hex(c.query or ""), hex(c.body), hex(c.access_key_id),
        hex(c.secret_access_key), hex(c.session_token or ""), hex(c.region), hex(c.service), hex(c.timestamp),
      }
      local headers = { { "Host", c.host } }
      for _, h in ipairs(c.headers) do
        fields[#fields + 1] = hex(h[1])
        fields[#fields + 1] = hex(h[2])
        headers[#headers + 1] = h
      end
      lines[#lines + 1] = table.concat(fields, " ")
      ours[i] = core.sign {
        method = "POST", path = c.path, query = c.query, headers = headers, body = c.body,
        access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
        session_token = c.session_token, region = c.region, service = c.service, timestamp = c.timestamp,
      }.authorization
    end
    local script, input = os.tmpname(), os.tmpname()
    write_file(script, BOTOCORE_SCRIPT)
    write_file(input, table.concat(lines, "\n") .. "\n")
    local out = support.capture("python3 " .. script .. " " .. input .. " 2>&1")
    os.remove(script)
    os.remove(input)
    local theirs = {}
    for l in out:gmatch("[^\n]+") do
      theirs[#theirs + 1] = l
    end
    assert.are.equal(#cases, #theirs, "botocore output:\n" .. out)
    for i = 1, #cases do
      assert.are.equal(theirs[i], ours[i], "case " .. i)
    end
  end)
end)

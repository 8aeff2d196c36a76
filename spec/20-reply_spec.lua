-- core.decode_reply: ListMapRuns replies (awsJson1_0) to pages or sfn.Error.
local core = require "sfn.core"

local ARN_E = "arn:aws:states:us-east-1:123456789012:execution:flow:run-1"
local ARN_M = "arn:aws:states:us-east-1:123456789012:mapRun:flow/run-1:0b7b2c6a-1f3e-4c2d-9a9e-1d2f3a4b5c6d"
local ARN_S = "arn:aws:states:us-east-1:123456789012:stateMachine:flow/run-1"

-- A JSON object for one item; fields maps names to raw JSON text (false
-- leaves the field out).
local ORDER = { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" }
local function item_json(fields)
  local base = {
    executionArn = '"' .. ARN_E .. '"',
    mapRunArn = '"' .. ARN_M .. '"',
    stateMachineArn = '"' .. ARN_S .. '"',
    startDate = "1700000000.123",
    stopDate = "1700000100.5",
  }
  local extra = {}
  for k, v in pairs(fields or {}) do
    if base[k] ~= nil then base[k] = v else extra[#extra + 1] = k end
  end
  table.sort(extra)
  local parts = {}
  for _, k in ipairs(ORDER) do
    if base[k] then parts[#parts + 1] = ('"%s":%s'):format(k, base[k]) end
  end
  for _, k in ipairs(extra) do
    if fields[k] then parts[#parts + 1] = ('"%s":%s'):format(k, fields[k]) end
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function page_json(items, rest)
  return '{"mapRuns":[' .. table.concat(items, ",") .. "]" .. (rest or "") .. "}"
end

-- Calls decode_reply and returns the raised error (fails if none is raised).
local function decode_error(...)
  local ok, err = pcall(core.decode_reply, ...)
  assert.is_false(ok, "expected an error, got a page")
  assert.is_true(core.is_error(err), "expected an sfn.Error, got " .. tostring(err))
  return err
end

local function assert_one_line(err)
  local s = tostring(err)
  assert.is_string(s)
  assert.is_nil(s:find("[\r\n]"), "tostring is not one line: " .. s)
  assert.truthy(s:find("ListMapRuns", 1, true))
  assert.truthy(s:find(err.code, 1, true))
end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("core.decode_reply", function()
  it("is a function", function()
    assert.is_function(core.decode_reply)
  end)

  describe("2xx pages", function()
    it("decodes an empty page", function()
      local page = core.decode_reply(200, { ["x-amzn-RequestId"] = "req-1" }, '{"mapRuns":[]}')
      assert.same({}, page.mapRuns)
      assert.is_nil(page.nextToken)
      assert.same({ RequestId = "req-1", HTTPStatusCode = 200, RetryAttempts = 0 }, page.ResponseMetadata)
      assert.equal(2, count_keys(page)) -- mapRuns, ResponseMetadata
    end)

    it("decodes an item with all fields, fractions kept", function()
      local page = core.decode_reply(200, {}, page_json { item_json() })
      assert.equal(1, #page.mapRuns)
      assert.same({
        executionArn = ARN_E,
        mapRunArn = ARN_M,
        stateMachineArn = ARN_S,
        startDate = 1700000000.123,
        stopDate = 1700000100.5,
      }, page.mapRuns[1])
      assert.is_number(page.mapRuns[1].startDate)
      assert.equal(0.5, page.mapRuns[1].stopDate - 1700000100)
      assert.is_nil(page.nextToken)
    end)

    local token_cases = {
      { "absent", "", nil },
      { "a string", ',"nextToken":"AAAA/bbbb+cc=="', "AAAA/bbbb+cc==" },
      { "null", ',"nextToken":null', nil },
      { "empty (end of pagination, as boto3 treats it)", ',"nextToken":""', nil },
      { "long", ',"nextToken":"' .. ("t"):rep(1024) .. '"', ("t"):rep(1024) },
    }
    for _, c in ipairs(token_cases) do
      it("nextToken " .. c[1], function()
        local page = core.decode_reply(200, nil, page_json({ item_json() }, c[2]))
        assert.equal(c[3], page.nextToken)
        assert.equal(1, #page.mapRuns)
      end)
    end

    local stop_cases = {
      { "absent (running)", false, nil },
      { "null (running)", "null", nil },
      { "present", "1700000200", 1700000200 },
      { "with a fraction", "1700000200.987", 1700000200.987 },
      { "in exponent form", "1.7000002009E9", 1700000200.9 },
    }
    for _, c in ipairs(stop_cases) do
      it("stopDate " .. c[1], function()
        local page = core.decode_reply(200, {}, page_json { item_json { stopDate = c[2] } })
        assert.equal(c[3], page.mapRuns[1].stopDate)
        assert.equal(c[3] and 5 or 4, count_keys(page.mapRuns[1]))
      end)
    end

    it("keeps integer and fractional dates as numbers", function()
      local page = core.decode_reply(200, {}, page_json {
        item_json { startDate = "1700000000" },
        item_json { startDate = "1700000000.001" },
        item_json { startDate = "0" },
      })
      assert.equal(1700000000, page.mapRuns[1].startDate)
      assert.equal(1700000000.001, page.mapRuns[2].startDate)
      assert.equal(0, page.mapRuns[3].startDate)
      assert.is_true(page.mapRuns[2].startDate > page.mapRuns[1].startDate)
    end)

    it("ignores unknown keys, at the top and in items", function()
      local body = '{"futureField":{"a":[1,2,{"b":null}]},"mapRuns":[' ..
        item_json { label = '"x"', nested = '{"deep":[[[[{"x":1}]]]]}', flag = "true" } ..
        '],"other":[1,"2",null],"nextToken":"n"}'
      local page = core.decode_reply(200, {}, body)
      assert.equal(3, count_keys(page))
      assert.equal("n", page.nextToken)
      assert.equal(5, count_keys(page.mapRuns[1]))
      assert.equal(ARN_E, page.mapRuns[1].executionArn)
    end)

    it("keeps unicode strings intact", function()
      local raw = "caf\195\169-\226\156\147-\240\159\152\128" -- cafe-acute, check mark, emoji
      local page = core.decode_reply(200, {}, page_json {
        item_json { executionArn = '"' .. raw .. '"' },
        item_json { executionArn = '"caf\\u00e9-\\u2713-\\ud83d\\ude00"' },
        item_json { executionArn = '"a\\/b\\\\c\\"d\\te"' },
      })
      assert.equal(raw, page.mapRuns[1].executionArn)
      assert.equal(raw, page.mapRuns[2].executionArn)
      assert.equal('a/b\\c"d\te', page.mapRuns[3].executionArn)
    end)

    it("accepts whitespace around the value and a UTF-8 BOM", function()
      local page = core.decode_reply(200, {}, " \r\n\t" .. page_json { item_json() } .. "\n  ")
      assert.equal(1, #page.mapRuns)
      page = core.decode_reply(200, {}, "\239\187\191" .. page_json { item_json() })
      assert.equal(1, #page.mapRuns)
    end)

    it("keeps the order of 1,000 items", function()
      local items = {}
      for i = 1, 1000 do
        items[i] = item_json { executionArn = '"' .. ARN_E .. "-" .. i .. '"', startDate = tostring(1700000000 + i) }
      end
      local page = core.decode_reply(200, {}, page_json(items, ',"nextToken":"more"'))
      assert.equal(1000, #page.mapRuns)
      for i = 1, 1000 do
        assert.equal(ARN_E .. "-" .. i, page.mapRuns[i].executionArn)
        assert.equal(1700000000 + i, page.mapRuns[i].startDate)
      end
      assert.equal("more", page.nextToken)
    end)

    it("reads x-amzn-RequestId in any case", function()
      for _, name in ipairs { "x-amzn-RequestId", "X-AMZN-REQUESTID", "x-amzn-requestid", "X-Amzn-Requestid" } do
        local page = core.decode_reply(200, { [name] = "rid-" .. name }, '{"mapRuns":[]}')
        assert.equal("rid-" .. name, page.ResponseMetadata.RequestId)
      end
    end)

    it("takes the first of a list of header values", function()
      local page = core.decode_reply(200, { ["x-amzn-requestid"] = { "first", "second" } }, '{"mapRuns":[]}')
      assert.equal("first", page.ResponseMetadata.RequestId)
    end)

    it("leaves RequestId out when there is none, and keeps the 2xx status", function()
      local page = core.decode_reply(203, { ["content-type"] = "application/x-amz-json-1.0" }, '{"mapRuns":[]}')
      assert.same({ HTTPStatusCode = 203, RetryAttempts = 0 }, page.ResponseMetadata)
    end)

    it("ignores headers it does not read, whatever their types", function()
      local page = core.decode_reply(200, { [1] = "x", ["x-other"] = 5, [true] = false, Date = { 1 } }, '{"mapRuns":[]}')
      assert.same({}, page.mapRuns)
    end)
  end)

  describe("2xx replies that are not a page", function()
    local deep = ("["):rep(2000) .. ("]"):rep(2000)
    local cases = {
      { "empty body", "", "empty" },
      { "nil body", nil, "empty" },
      { "whitespace only", " \n\t ", "empty" },
      { "truncated JSON", page_json { item_json() }:sub(1, 60), "truncated" },
      { "truncated inside a string", '{"mapRuns":[{"executionArn":"arn:aws:st', "truncated" },
      { "trailing garbage", '{"mapRuns":[]} x', "after the JSON value" },
      { "a second value", '{"mapRuns":[]}{"mapRuns":[]}', "after the JSON value" },
      { "a NUL after the value", '{"mapRuns":[]}\0', "after the JSON value" },
      { "HTML", "<html><body><h1>OK</h1></body></html>", "not JSON" },
      { "plain text", "hello", "not JSON" },
      { "a trailing comma", '{"mapRuns":[],}', "not valid JSON" },
      { "an invalid escape", '{"mapRuns":[],"nextToken":"\\x"}', "not valid JSON" },
      { "a lone surrogate", '{"mapRuns":[],"nextToken":"\\ud800"}', "not valid JSON" },
      { "an array at the top", "[]", "is an array, not an object" },
      { "a string at the top", '"mapRuns"', "is a string, not an object" },
      { "a number at the top", "1", "is a number, not an object" },
      { "null at the top", "null", "is null, not an object" },
      { "an empty object", "{}", "no mapRuns" },
      { "an error shape on a 200", '{"__type":"ThrottlingException","message":"x"}', "no mapRuns %(it has __type ThrottlingException%)" },
      { "mapRuns with another case", '{"MapRuns":[]}', "no mapRuns" },
      { "mapRuns a string", '{"mapRuns":"[]"}', "mapRuns is a string, not an array" },
      { "mapRuns an object", '{"mapRuns":{}}', "mapRuns is an object, not an array" },
      { "mapRuns null", '{"mapRuns":null}', "mapRuns is null, not an array" },
      { "mapRuns a number", '{"mapRuns":0}', "mapRuns is a number, not an array" },
      { "mapRuns a boolean", '{"mapRuns":true}', "mapRuns is a boolean, not an array" },
      { "an item that is a string", '{"mapRuns":["x"]}', "mapRuns%[1%] is a string, not an object" },
      { "an item that is null", page_json { item_json(), "null" }, "mapRuns%[2%] is null, not an object" },
      { "an item that is an array", '{"mapRuns":[[]]}', "mapRuns%[1%] is an array, not an object" },
      { "nextToken a number", '{"mapRuns":[],"nextToken":1}', "nextToken is a number, not a string" },
      { "nextToken an object", '{"mapRuns":[],"nextToken":{}}', "nextToken is an object, not a string" },
      { "nextToken a boolean", '{"mapRuns":[],"nextToken":false}', "nextToken is a boolean, not a string" },
      { "startDate out of range", page_json { item_json { startDate = "1e400" } }, "startDate is out of range" },
      { "stopDate out of range", page_json { item_json { stopDate = "-1e400" } }, "stopDate is out of range" },
      { "huge nesting, unclosed", ("["):rep(100000), "deeper than" },
      { "huge nesting, closed", deep, "deeper than" },
      { "huge nesting in an unknown key", '{"mapRuns":[],"x":' .. deep .. "}", "deeper than" },
      { "nesting where an item belongs", '{"mapRuns":[' .. ("["):rep(50) .. ("]"):rep(50) .. "]}", "mapRuns%[1%] is an array" },
      { "nesting where a field belongs", page_json { item_json { executionArn = ('{"a":'):rep(50) .. "1" .. ("}"):rep(50) } }, "executionArn is an object" },
    }
    for _, f in ipairs { "executionArn", "mapRunArn", "stateMachineArn", "startDate" } do
      cases[#cases + 1] = { "an item without " .. f, page_json { item_json(), item_json { [f] = false } }, "mapRuns%[2%] has no " .. f }
      cases[#cases + 1] = { "an item with " .. f .. " null", page_json { item_json { [f] = "null" } }, f .. " is null" }
      cases[#cases + 1] = { "an item with " .. f .. " a boolean", page_json { item_json { [f] = "true" } }, f .. " is a boolean" }
      cases[#cases + 1] = { "an item with " .. f .. " an object", page_json { item_json { [f] = "{}" } }, f .. " is an object" }
      cases[#cases + 1] = { "an item with " .. f .. " an array", page_json { item_json { [f] = '["x"]' } }, f .. " is an array" }
    end
    for _, f in ipairs { "executionArn", "mapRunArn", "stateMachineArn" } do
      cases[#cases + 1] = { "an item with " .. f .. " a number", page_json { item_json { [f] = "12" } }, f .. " is a number, not a string" }
    end
    for _, f in ipairs { "startDate", "stopDate" } do
      cases[#cases + 1] = { "an item with " .. f .. " a string", page_json { item_json { [f] = '"2023-11-14T22:13:20Z"' } }, f .. " is a string, not a date" }
    end
    cases[#cases + 1] = { "an item with stopDate a boolean", page_json { item_json { stopDate = "false" } }, "stopDate is a boolean" }
    cases[#cases + 1] = { "an item with stopDate an object", page_json { item_json { stopDate = "{}" } }, "stopDate is an object" }

    for _, c in ipairs(cases) do
      it("fails with ResponseError on " .. c[1], function()
        local err = decode_error(200, { ["x-amzn-RequestId"] = "rid-9" }, c[2])
        assert.equal("ResponseError", err.code)
        assert.equal(200, err.status)
        assert.equal("rid-9", err.request_id)
        assert.is_false(err.retryable)
        assert.equal(1, err.attempts)
        assert.equal("ListMapRuns", err.operation)
        assert.truthy(err.message:find(c[3]), ("message %q lacks %q"):format(err.message, c[3]))
        assert.is_nil(err.message:find("%c"), "message is not printable: " .. err.message)
        assert.is_true(#err.message <= 200, "message too long: " .. #err.message)
        assert_one_line(err)
      end)
    end

    it("never gives a page for a cut reply, wherever it is cut", function()
      local body = page_json({ item_json(), item_json { stopDate = "null" } }, ',"nextToken":"abc"')
      for n = 0, #body - 1 do
        local ok, err = pcall(core.decode_reply, 200, {}, body:sub(1, n))
        assert.is_false(ok, "a page from " .. n .. " bytes")
        assert.equal("ResponseError", err.code)
      end
    end)

    it("quotes at most a short printable excerpt of a huge body", function()
      local body = "<html>" .. ("\1\2\255 x"):rep(250000) .. "</html>"
      local err = decode_error(200, { ["Content-Type"] = "text/html; charset=utf-8" }, body)
      assert.equal("ResponseError", err.code)
      assert.is_true(#err.message < 250, "message too long: " .. #err.message)
      assert.is_nil(err.message:find("[%c\128-\255]"))
      assert.truthy(err.message:find("text/html", 1, true))
    end)

    it("reports the status of any 2xx", function()
      local err = decode_error(204, {}, "")
      assert.equal("ResponseError", err.code)
      assert.equal(204, err.status)
      assert.is_nil(err.request_id)
    end)
  end)

  describe("service errors", function()
    local NS = "com.amazonaws.swf.service.v2.model#"
    local SUFFIX = ":http://internal.amazon.com/coral/com.amazonaws.swf.service.v2/"
    -- code, status, retryable
    local codes = {
      { "ExecutionDoesNotExist", 400, false },
      { "InvalidArn", 400, false },
      { "InvalidToken", 400, false },
      { "ValidationException", 400, false },
      { "ThrottlingException", 400, true },
      { "AccessDeniedException", 400, false },
      { "UnrecognizedClientException", 400, false },
      { "InvalidSignatureException", 403, false },
      { "ExpiredTokenException", 403, false },
      { "InternalServerError", 500, true },
    }
    local forms = {
      { "__type with a namespace", function(c) return nil, '{"__type":"' .. NS .. c .. '","message":"msg for ' .. c .. '"}' end, true },
      { "__type with a suffix", function(c) return nil, '{"__type":"' .. c .. SUFFIX .. '","message":"msg for ' .. c .. '"}' end, true },
      { "__type with both", function(c) return nil, '{"__type":"' .. NS .. c .. SUFFIX .. '","Message":"msg for ' .. c .. '"}' end, true },
      { "plain __type", function(c) return nil, '{"__type":"' .. c .. '","message":"msg for ' .. c .. '"}' end, true },
      { "code", function(c) return nil, '{"code":"' .. c .. '","message":"msg for ' .. c .. '"}' end, true },
      { "the header only", function(c) return c .. SUFFIX, "" end, false },
      { "the header and an HTML body", function(c) return NS .. c, "<html>oops</html>" end, false },
      { "the header and a JSON message", function(c) return c, '{"message":"msg for ' .. c .. '"}' end, true },
    }
    for _, c in ipairs(codes) do
      for _, form in ipairs(forms) do
        it(("%s (%d) from %s"):format(c[1], c[2], form[1]), function()
          local header, body = form[2](c[1])
          local err = decode_error(c[2], { ["X-Amzn-Errortype"] = header, ["x-amzn-requestid"] = "rid-" .. c[1] }, body)
          assert.equal(c[1], err.code)
          assert.equal(c[2], err.status)
          assert.equal("rid-" .. c[1], err.request_id)
          assert.equal(c[3], err.retryable)
          assert.equal(1, err.attempts)
          assert.equal("ListMapRuns", err.operation)
          assert.equal(form[3] and ("msg for " .. c[1]) or c[1], err.message)
          assert_one_line(err)
        end)
      end
    end

    it("prefers the body's code to the header's", function()
      local err = decode_error(400, { ["x-amzn-errortype"] = "InvalidToken" }, '{"__type":"InvalidArn"}')
      assert.equal("InvalidArn", err.code)
      err = decode_error(400, {}, '{"__type":"InvalidArn","code":"InvalidToken"}')
      assert.equal("InvalidArn", err.code)
    end)

    it("prefers message to Message", function()
      local err = decode_error(400, {}, '{"__type":"InvalidArn","Message":"upper","message":"lower"}')
      assert.equal("lower", err.message)
    end)

    it("falls back to the header when __type is empty or not a string", function()
      local err = decode_error(400, { ["x-amzn-errortype"] = "InvalidToken:" }, '{"__type":""}')
      assert.equal("InvalidToken", err.code)
      err = decode_error(400, { ["x-amzn-errortype"] = "InvalidToken" }, '{"__type":5}')
      assert.equal("InvalidToken", err.code)
    end)

    it("reads the request id in any case", function()
      for _, name in ipairs { "x-amzn-RequestId", "X-AMZN-REQUESTID", "x-amzn-requestid" } do
        local err = decode_error(400, { [name] = "r-" .. name }, '{"__type":"InvalidArn"}')
        assert.equal("r-" .. name, err.request_id)
      end
      assert.is_nil(decode_error(400, {}, '{"__type":"InvalidArn"}').request_id)
      assert.is_nil(decode_error(400, nil, '{"__type":"InvalidArn"}').request_id)
    end)

    -- status, body, reason, code, message, retryable
    local generic = {
      { 503, "<html><body>Service Unavailable</body></html>", nil, "503", "Service Unavailable", true },
      { 503, "", nil, "503", "Service Unavailable", true },
      { 503, nil, "Slow Down", "503", "Slow Down", true },
      { 500, "<html>oops</html>", nil, "500", "Internal Server Error", true },
      { 502, "<html>bad gateway</html>", nil, "502", "Bad Gateway", true },
      { 504, "", nil, "504", "Gateway Timeout", true },
      { 429, "Too many", nil, "429", "Too Many Requests", false },
      { 404, "", nil, "404", "Not Found", false },
      { 413, "", "", "413", "Request Entity Too Large", false },
      { 301, "", nil, "301", "Moved Permanently", false },
      { 302, "<html>moved</html>", "Found", "302", "Found", false },
      { 304, nil, nil, "304", "Not Modified", false },
      { 307, "", nil, "307", "Temporary Redirect", false },
      { 101, "", nil, "101", "Switching Protocols", false },
      { 599, "", nil, "599", "HTTP status 599", false },
      { 400, '{"message":"no code here"}', nil, "400", "no code here", false },
      { 400, '{"__type":"InvalidArn"} trailing', nil, "400", "Bad Request", false },
      { 400, "[]", nil, "400", "Bad Request", false },
      { 400, '{"__type":"#:x"}', nil, "400", "Bad Request", false },
    }
    for _, g in ipairs(generic) do
      it(("gives %d with body %q the status as its code"):format(g[1], tostring(g[2])), function()
        local err = decode_error(g[1], { ["x-amzn-RequestId"] = "rid" }, g[2], g[3])
        assert.equal(g[4], err.code)
        assert.equal(g[5], err.message)
        assert.equal(g[1], err.status)
        assert.equal(g[6], err.retryable)
        assert.equal("rid", err.request_id)
        assert.equal(1, err.attempts)
        assert_one_line(err)
      end)
    end

    it("caps a huge service message and keeps tostring on one line", function()
      local err = decode_error(400, {}, '{"__type":"ValidationException","message":"' .. ("line\\n"):rep(10000) .. '"}')
      assert.equal("ValidationException", err.code)
      assert.is_true(#err.message <= 1100)
      assert_one_line(err)
    end)

    it("cuts a long message on a UTF-8 boundary", function()
      local err = decode_error(400, {}, '{"__type":"ValidationException","message":"' .. ("\226\156\147"):rep(1000) .. '"}')
      local m = err.message:gsub("%.%.%.$", "")
      assert.equal(0, #m % 3)
      assert.equal(("\226\156\147"):rep(#m / 3), m)
    end)
  end)

  describe("argument checks", function()
    local good = { 200, {}, '{"mapRuns":[]}', "OK" }
    local bad = {
      { 1, nil }, { 1, "200" }, { 1, {} }, { 1, true }, { 1, 200.5 }, { 1, 99 }, { 1, 600 }, { 1, 0 },
      { 1, -200 }, { 1, 0 / 0 }, { 1, math.huge }, { 1, print },
      { 2, 1 }, { 2, "x-amzn-requestid: 1" }, { 2, true }, { 2, print },
      { 3, 1 }, { 3, {} }, { 3, true }, { 3, print },
      { 4, 1 }, { 4, {} }, { 4, false },
    }
    for _, b in ipairs(bad) do
      it(("rejects argument %d of type %s (%s)"):format(b[1], type(b[2]), tostring(b[2])), function()
        local args = { good[1], good[2], good[3], good[4] }
        args[b[1]] = b[2]
        local err = decode_error(args[1], args[2], args[3], args[4])
        assert.equal("ValidationError", err.code)
        assert.is_nil(err.status)
        assert.is_false(err.retryable)
        assert_one_line(err)
      end)
    end

    for _, name in ipairs { "x-amzn-RequestId", "X-Amzn-Errortype", "content-type" } do
      for _, v in ipairs { 5, true, { 5 }, {}, print } do
        it(("rejects header %s of type %s"):format(name, type(v)), function()
          local err = decode_error(200, { [name] = v }, '{"mapRuns":[]}')
          assert.equal("ValidationError", err.code)
          assert.truthy(err.message:find(name, 1, true))
        end)
      end
    end

    it("accepts a missing headers table and reason", function()
      assert.same({}, core.decode_reply(200, nil, '{"mapRuns":[]}').mapRuns)
      assert.same({}, core.decode_reply(200.0, nil, '{"mapRuns":[]}', nil).mapRuns)
    end)

    it("leaves no globals behind", function()
      local before = {}
      for k in pairs(_G) do before[k] = true end
      pcall(core.decode_reply, 200, {}, page_json { item_json() })
      pcall(core.decode_reply, 200, {}, "{")
      pcall(core.decode_reply, 400, {}, '{"__type":"InvalidArn"}')
      pcall(core.decode_reply, "x")
      for k in pairs(_G) do assert.is_true(before[k], "new global " .. tostring(k)) end
    end)
  end)

  describe("resources", function()
    it("survives many decodes and failures with the collector running, memory flat", function()
      local body = page_json({ item_json(), item_json() }, ',"nextToken":"t"')
      local function round(i)
        local page = core.decode_reply(200, {}, body)
        assert.are.equal(2, #page.mapRuns)
        assert.are.equal("t", page.nextToken)
        local cut = body:sub(1, i % #body)
        local ok, err = pcall(core.decode_reply, 200, {}, cut)
        assert.is_false(ok, cut)
        assert.are.equal("ResponseError", err.code)
        ok, err = pcall(core.decode_reply, 400, {}, '{"__type":"InvalidArn"}')
        assert.is_false(ok)
        assert.are.equal("InvalidArn", err.code)
      end
      for i = 1, 200 do
        round(i)
        if i % 50 == 0 then collectgarbage() end
      end
      collectgarbage()
      collectgarbage()
      local before = collectgarbage("count")
      for i = 1, 400 do
        round(i)
      end
      collectgarbage()
      collectgarbage()
      -- what 400 more rounds leave behind: nothing that grows with them
      assert.is_true(collectgarbage("count") - before < 64, collectgarbage("count") - before .. " kB more")
    end)
  end)
end)

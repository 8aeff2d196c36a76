-- Every failure ends in an sfn.Error with the right fields: service errors,
-- broken replies and transport faults from the stand-in, and bad input
-- refused before anything is sent.
local sfn = require "sfn"
local standin = require "standin"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FQoGZXIvYXdzEXAMPLEsessiontoken"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

local server

local function client(opts)
  local o = {
    region = "us-east-1",
    endpoint = server.url,
    credentials = { access_key_id = KEY, secret_access_key = SECRET, session_token = TOKEN },
    max_attempts = 1,
    timeout = 2,
    connect_timeout = 1,
  }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return sfn.new(o)
end

local function call_error(c, params)
  local ok, err = pcall(c.list_map_runs, c, params)
  assert.is_false(ok, "expected an error")
  assert.is_true(sfn.is_error(err), "not an sfn.Error: " .. tostring(err))
  return err
end

local function assert_no_secret(err)
  for _, text in ipairs { tostring(err), tostring(err.message) } do
    assert.is_nil(text:find(SECRET, 1, true))
    assert.is_nil(text:find(TOKEN, 1, true))
    assert.is_nil(text:find("\n", 1, true))
  end
end

setup(function()
  server = standin.start { credentials = { KEY .. ":" .. SECRET .. ":" .. TOKEN } }
end)

teardown(function()
  if server then
    server:stop()
  end
end)

describe("service and reply errors", function()
  local cases = {
    { name = "missing", code = "ExecutionDoesNotExist", status = 400, retryable = false },
    { name = "access-denied", code = "AccessDeniedException", status = 400, retryable = false },
    { name = "validation", code = "ValidationException", status = 400, retryable = false },
    { name = "throttle-forever", code = "ThrottlingException", status = 400, retryable = true },
    { name = "error-500", status = 500, retryable = true },
    { name = "error-503-html", code = "503", status = 503, retryable = true, message = "Service Unavailable" },
    { name = "bad-shape", code = "ResponseError", status = 200, retryable = false },
    { name = "truncated-json", code = "ResponseError", status = 200, retryable = false },
    { name = "redirect", code = "301", status = 301, retryable = false },
  }
  for _, case in ipairs(cases) do
    it(case.name .. " -> " .. (case.code or "an error"), function()
      local err = call_error(client(), { executionArn = PREFIX .. case.name })
      if case.code then
        assert.are.equal(case.code, err.code)
      end
      assert.are.equal(case.status, err.status)
      assert.are.equal(case.retryable, err.retryable)
      assert.are.equal(1, err.attempts)
      assert.are.equal("ListMapRuns", err.operation)
      assert.is_string(err.message)
      if case.message then
        assert.are.equal(case.message, err.message)
      end
      if case.status ~= 200 and case.name ~= "error-503-html" and case.name ~= "redirect" then
        assert.is_string(err.request_id)
      end
      local line = tostring(err)
      assert.truthy(line:find("ListMapRuns", 1, true))
      assert.truthy(line:find(err.code, 1, true))
      assert.truthy(line:find(tostring(err.status), 1, true))
      assert_no_secret(err)
    end)
  end

  it("InvalidArn for a malformed ARN", function()
    local err = call_error(client(), { executionArn = "arn:aws:states:us-east-1:123456789012:nope" })
    assert.are.equal("InvalidArn", err.code)
  end)

  it("InvalidToken for a tampered nextToken", function()
    local c = client()
    local page = c:list_map_runs { executionArn = PREFIX .. "runs-30", maxResults = 5 }
    local token = page.nextToken
    local tampered = token:sub(1, 10) .. (token:sub(11, 11) == "A" and "B" or "A") .. token:sub(12)
    local err = call_error(c, { executionArn = PREFIX .. "runs-30", nextToken = tampered })
    assert.are.equal("InvalidToken", err.code)
    assert.is_false(err.retryable)
  end)
end)

describe("transport faults", function()
  local cases = {
    { name = "drop", code = "TransportError" },
    { name = "truncated", code = "TransportError" },
    { name = "reset-mid-body", code = "TransportError" },
    { name = "hang", code = "TimeoutError" },
  }
  for _, case in ipairs(cases) do
    it(case.name .. " -> " .. case.code, function()
      local err = call_error(client { timeout = 1 }, { executionArn = PREFIX .. case.name })
      assert.are.equal(case.code, err.code)
      assert.is_nil(err.status)
      assert.is_true(err.retryable)
      assert_no_secret(err)
    end)
  end

  it("drip -> TimeoutError from the low-speed limit, long before timeout", function()
    local started = os.time()
    local err = call_error(client { timeout = 60 }, { executionArn = PREFIX .. "drip" })
    assert.are.equal("TimeoutError", err.code)
    assert.is_true(os.time() - started < 15)
  end)

  it("a refused connection is a retryable TransportError", function()
    local c = client { endpoint = "http://127.0.0.1:9" }
    local err = call_error(c, { executionArn = PREFIX .. "runs-3" })
    assert.are.equal("TransportError", err.code)
    assert.is_true(err.retryable)
  end)

  it("an oversized reply is cut off at the cap", function()
    -- time enough to stream 16 MiB from the stand-in on a loaded machine
    local err = call_error(client { timeout = 60 }, { executionArn = PREFIX .. "huge" })
    assert.are.equal("ResponseError", err.code)
    assert.truthy(err.message:find("larger than", 1, true))
  end)

  describe("over https", function()
    local tls
    setup(function()
      tls = standin.start { credentials = { KEY .. ":" .. SECRET .. ":" .. TOKEN }, tls = true }
    end)
    teardown(function()
      if tls then
        tls:stop()
      end
    end)

    it("verifies the server against ca_file", function()
      local page = client({ endpoint = tls.url, ca_file = tls.ca_file, timeout = 30, connect_timeout = 20 }):list_map_runs {
        executionArn = PREFIX .. "runs-3",
      }
      assert.are.equal(3, #page.mapRuns)
    end)

    it("fails verification against the system store, for good", function()
      local err = call_error(client { endpoint = tls.url, timeout = 30, connect_timeout = 20 },
        { executionArn = PREFIX .. "runs-3" })
      assert.are.equal("TransportError", err.code)
      assert.is_false(err.retryable)
    end)

    it("refuses to speak TLS to a plain HTTP server", function()
      local c = client { endpoint = "https://127.0.0.1:" .. server.port, timeout = 30, connect_timeout = 20 }
      assert.are.equal("TransportError", call_error(c, { executionArn = PREFIX .. "runs-3" }).code)
    end)
  end)
end)

describe("validation before any I/O", function()
  local long = ("a"):rep(257)
  local cases = {
    { "params not a table", "nope", "params" },
    { "missing executionArn", {}, "executionArn" },
    { "executionArn a number", { executionArn = 5 }, "executionArn" },
    { "executionArn empty", { executionArn = "" }, "executionArn" },
    { "executionArn too long", { executionArn = long }, "executionArn" },
    { "executionArn with NUL", { executionArn = "arn\0x" }, "executionArn" },
    { "executionArn not UTF-8", { executionArn = "arn\255" }, "executionArn" },
    { "maxResults a string", { executionArn = "a", maxResults = "10" }, "maxResults" },
    { "maxResults negative", { executionArn = "a", maxResults = -1 }, "maxResults" },
    { "maxResults too big", { executionArn = "a", maxResults = 1001 }, "maxResults" },
    { "maxResults fractional", { executionArn = "a", maxResults = 1.5 }, "maxResults" },
    { "maxResults NaN", { executionArn = "a", maxResults = 0 / 0 }, "maxResults" },
    { "maxResults inf", { executionArn = "a", maxResults = math.huge }, "maxResults" },
    { "nextToken empty", { executionArn = "a", nextToken = "" }, "nextToken" },
    { "nextToken too long", { executionArn = "a", nextToken = ("t"):rep(1025) }, "nextToken" },
    { "nextToken a table", { executionArn = "a", nextToken = {} }, "nextToken" },
    { "unknown key", { executionArn = "a", MaxResults = 3 }, "MaxResults" },
    { "non-string key", { executionArn = "a", [1] = true }, "1" },
    -- keys compare as whole Lua strings: "executionArn\0" is not executionArn
    { "a key with a NUL byte", { ["executionArn\0"] = PREFIX .. "runs-3" }, "NUL byte" },
    { "a known key and its NUL twin", { executionArn = PREFIX .. "runs-3", ["maxResults\0x"] = 5 }, "NUL byte" },
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      server:reset()
      local err = call_error(client(), case[2])
      assert.are.equal("ValidationError", err.code)
      assert.truthy(err.message:find(case[3], 1, true), err.message)
      assert.are.equal(0, err.attempts)
      assert.is_false(err.retryable)
      assert.are.equal(0, server:stats().requests)
    end)
  end

  it("accepts boundary values, sending each as the service reads it", function()
    local c = client()
    for _, case in ipairs {
      { 0, '"maxResults":0', 3 },      -- 0: the service's default page size
      { 1000, '"maxResults":1000', 3 },
      { 3.0, '"maxResults":3', 3 },    -- an integral float goes as an integer
      { 1, '"maxResults":1', 1 },
    } do
      server:reset()
      local page = c:list_map_runs { executionArn = PREFIX .. "runs-3", maxResults = case[1] }
      assert.are.equal(case[3], #page.mapRuns, "maxResults = " .. tostring(case[1]))
      assert.are.equal(200, page.ResponseMetadata.HTTPStatusCode)
      local stats = server:stats()
      assert.are.equal(1, stats.requests)
      assert.truthy(stats.last_request.body:find(case[2], 1, true), stats.last_request.body)
    end
    -- the longest ARN the model allows (256 characters) goes out too: the
    -- service, not the client, finds its 200-character name wrong
    local longest = PREFIX .. ("x"):rep(256 - #PREFIX)
    assert.are.equal(256, #longest)
    local err = call_error(c, { executionArn = longest })
    assert.are.equal("InvalidArn", err.code)
    assert.are.equal(400, err.status)
    assert.are.equal(1, err.attempts)
  end)

  it("checks pagination before any I/O", function()
    server:reset()
    local c = client()
    for _, pagination in ipairs {
      { max_items = 0 }, { max_items = "5" }, { page_size = 0 }, { page_size = 1001 },
      { starting_token = 5 }, { bogus = 1 },
    } do
      local ok, err = pcall(function()
        for _ in c:map_runs({ executionArn = PREFIX .. "runs-3" }, pagination) do
        end
      end)
      assert.is_false(ok)
      assert.are.equal("ValidationError", err.code)
    end
    assert.are.equal(0, server:stats().requests)
  end)
end)

describe("sfn.new", function()
  local bad = {
    { "endpoint not http(s)", { endpoint = "ftp://127.0.0.1/" } },
    { "endpoint garbage", { endpoint = "127.0.0.1:8080" } },
    { "max_attempts a string", { max_attempts = "3" } },
    { "timeout negative", { timeout = -1 } },
    { "unknown option", { regoin = "us-east-1" } },
  }
  for _, case in ipairs(bad) do
    it("refuses " .. case[1] .. " with a ConfigError", function()
      local ok, err = pcall(client, case[2])
      assert.is_false(ok)
      assert.is_true(sfn.is_error(err))
      assert.are.equal("ConfigError", err.code)
    end)
  end

  it("refuses a credentials table without a secret, without echoing it", function()
    local ok, err = pcall(client, { credentials = { access_key_id = KEY } })
    if ok then -- resolved lazily: then the first call must fail
      ok, err = pcall(err.list_map_runs, err, { executionArn = PREFIX .. "runs-3" })
    end
    assert.is_false(ok)
    assert.truthy(err.code == "CredentialsError" or err.code == "ConfigError")
  end)

  it("errors print on one line and pass through pcall unchanged", function()
    local c = client()
    local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "missing" })
    assert.is_false(ok)
    assert.are.equal(sfn.Error, getmetatable(err))
    assert.truthy(tostring(err):match("^ListMapRuns: ExecutionDoesNotExist %(HTTP 400, request [%w%-]+%): "))
  end)
end)

-- Lua transports: a function given as `transport` gets the signed request
-- from the C core and hands the reply back to the core's decoder; the
-- sans-I/O seams build_request and decode_reply on their own.
local sfn = require "sfn"
local core = require "sfn.core"
local curl = require "sfn.curl"
local standin = require "standin"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
local CREDENTIALS = { access_key_id = KEY, secret_access_key = SECRET }

local server

-- A transport over curl.http_request that records what it sends.
local function recording_transport(sent)
  return function(request)
    sent[#sent + 1] = request
    return curl.http_request {
      method = request.method, url = request.url, headers = request.headers, body = request.body,
      timeout = request.timeout, connect_timeout = request.connect_timeout,
    }
  end
end

local function client(transport, opts)
  local o = {
    region = "us-east-1", endpoint = server.url, credentials = CREDENTIALS,
    transport = transport, max_attempts = 1,
  }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return sfn.new(o)
end

setup(function()
  server = standin.start {}
end)

teardown(function()
  if server then
    server:stop()
  end
end)

describe("a function transport", function()
  it("carries one signed call", function()
    local sent = {}
    local page = client(recording_transport(sent)):list_map_runs { executionArn = PREFIX .. "runs-3" }
    assert.are.equal(3, #page.mapRuns)
    assert.are.equal(1, #sent)
    assert.are.equal("POST", sent[1].method)
    assert.are.equal(server.url .. "/", sent[1].url)
    assert.truthy(sent[1].headers.Authorization:match("^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/"))
  end)

  it("names the transport it went through in the User-Agent", function()
    local sent = {}
    client(recording_transport(sent), { app_id = "billing ui" }):list_map_runs { executionArn = PREFIX .. "runs-3" }
    assert.truthy(sent[1].headers["User-Agent"]:match("^sfn/%S+ lua/%S+.* app/billing%-ui md/transport#function$"),
      sent[1].headers["User-Agent"])
    client("curl"):list_map_runs { executionArn = PREFIX .. "runs-3" }
    local ua = server:stats().last_request.headers["user-agent"]
    assert.truthy(ua:match(" md/transport#curl$"), ua)
  end)

  it("walks pages and items like the curl transport", function()
    local c = client(recording_transport({}))
    local by_curl = client("curl")
    local params = { executionArn = PREFIX .. "runs-40" }
    local a, ta = c:all_map_runs(params, { max_items = 17, page_size = 6 })
    local b, tb = by_curl:all_map_runs(params, { max_items = 17, page_size = 6 })
    assert.are.same(b, a)
    assert.are.equal(tb, ta)
  end)

  it("retries with one invocation id and counted attempts", function()
    local sent, delays = {}, {}
    local c = client(recording_transport(sent), {
      max_attempts = 3,
      sleep = function(s) delays[#delays + 1] = s end,
    })
    server:reset()
    local page = c:list_map_runs { executionArn = PREFIX .. "throttle-2" }
    assert.are.equal(2, page.ResponseMetadata.RetryAttempts)
    assert.are.equal(3, #sent)
    assert.are.equal(2, #delays)
    local id = sent[1].headers["amz-sdk-invocation-id"]
    for i, request in ipairs(sent) do
      assert.are.equal(id, request.headers["amz-sdk-invocation-id"])
      local ttl = i > 1 and "ttl=%d+T%d+Z; " or ""
      assert.truthy(request.headers["amz-sdk-request"]:match("^" .. ttl .. "attempt=" .. i .. "; max=3$"))
    end
  end)

  it("retries a transport that raised: the network may heal", function()
    local calls = 0
    local c = client(function() calls = calls + 1; error("connection reset by peer", 0) end,
      { max_attempts = 3, sleep = function() end })
    local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
    assert.is_false(ok)
    assert.are.equal("TransportError", err.code)
    assert.truthy(err.message:find("connection reset", 1, true))
    assert.is_true(err.retryable)
    assert.are.equal(3, calls)
    assert.are.equal(3, err.attempts)
  end)

  it("does not retry a request the transport says it cannot send (nil, message)", function()
    local calls, creds = 0, 0
    local c = client(function() calls = calls + 1; return nil, "bad url: ftp://x" end, {
      max_attempts = 3, sleep = function() error("no backoff expected") end,
      credentials = function() creds = creds + 1; return CREDENTIALS end,
    })
    local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
    assert.is_false(ok)
    assert.are.equal("TransportError", err.code)
    assert.is_false(err.retryable)
    assert.truthy(err.message:find("cannot send", 1, true))
    assert.are.equal(1, calls)
    assert.are.equal(1, err.attempts)
  end)

  it("validates params before credentials or I/O", function()
    local calls, creds = 0, 0
    local c = client(function() calls = calls + 1 end, {
      credentials = function() creds = creds + 1; return CREDENTIALS end,
    })
    local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3", maxResults = 5000 })
    assert.is_false(ok)
    assert.are.equal("ValidationError", err.code)
    assert.are.equal(0, calls)
    assert.are.equal(0, creds)
  end)

  it("passes sfn.Errors raised by the transport through", function()
    local c = client(function() error(setmetatable({ code = "TimeoutError", message = "slow", retryable = true }, core.Error)) end)
    local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
    assert.is_false(ok)
    assert.are.equal("TimeoutError", err.code)
    assert.are.equal(1, err.attempts)
  end)
end)

describe("the sans-I/O seams", function()
  it("build_request signs what the stand-in accepts and decode_reply reads its reply", function()
    local method, url, headers, body = core.build_request(
      { endpoint = server.url, region = "us-east-1", credentials = CREDENTIALS },
      { executionArn = PREFIX .. "runs-5", maxResults = 2 })
    assert.are.equal("POST", method)
    assert.are.equal('{"executionArn":"' .. PREFIX .. 'runs-5","maxResults":2}', body)
    local status, reply_headers, reply_body = curl.http_request {
      method = method, url = url, headers = headers, body = body,
    }
    local page = core.decode_reply(status, reply_headers, reply_body)
    assert.are.equal(2, #page.mapRuns)
    assert.is_string(page.nextToken)
  end)

  it("build_request reproduces the sfn-list-map-runs SigV4 case", function()
    local _, _, headers = core.build_request(
      {
        endpoint = "https://states.us-east-1.amazonaws.com",
        region = "us-east-1",
        credentials = {
          access_key_id = "AKIDEXAMPLE",
          secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
          session_token = "FQoGZXIvYXdzEXAMPLE",
        },
      },
      { executionArn = "arn:aws:states:us-east-1:123456789012:execution:demo:run-1", maxResults = 10 },
      { time = 1440938160 }) -- 2015-08-30T12:36:00Z
    local f = assert(io.open("spec/fixtures/sigv4/sfn-list-map-runs/header-signed-request.txt", "rb"))
    local expected = f:read("*a"):match("Authorization:([^\n]+)")
    f:close()
    assert.are.equal(expected, headers.Authorization)
    assert.are.equal("20150830T123600Z", headers["X-Amz-Date"])
    assert.are.equal("states.us-east-1.amazonaws.com", headers.Host)
  end)
end)

-- End to end: sfn.new -> list_map_runs / iterators -> the stand-in, which
-- checks every signature with its own SigV4 code.
local sfn = require "sfn"
local standin = require "standin"
local support = require "support"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN_KEY, TOKEN_SECRET, TOKEN = "ASIATOKENKEY", "tokenSecretKey/EXAMPLE+abc", "FQoGZXIvYXdzEXAMPLEsessiontoken"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

local server

local function client(opts)
  opts = opts or {}
  local o = {
    region = "us-east-1",
    endpoint = server.url,
    credentials = { access_key_id = KEY, secret_access_key = SECRET },
    max_attempts = 1,
  }
  for k, v in pairs(opts) do
    o[k] = v
  end
  return sfn.new(o)
end

local function arn(name)
  return PREFIX .. name
end

setup(function()
  server = standin.start {
    credentials = { KEY .. ":" .. SECRET, TOKEN_KEY .. ":" .. TOKEN_SECRET .. ":" .. TOKEN },
  }
end)

teardown(function()
  if server then
    server:stop()
  end
end)

describe("client:list_map_runs", function()
  it("returns a page of Map Runs in boto3's shape", function()
    local page = client():list_map_runs { executionArn = arn("runs-12"), maxResults = 10 }
    assert.are.equal(10, #page.mapRuns)
    assert.is_string(page.nextToken)
    local run = page.mapRuns[1]
    assert.are.equal(arn("runs-12"), run.executionArn)
    assert.truthy(run.mapRunArn:match("^arn:aws:states:us%-east%-1:123456789012:mapRun:"))
    assert.truthy(run.stateMachineArn:match(":stateMachine:"))
    assert.is_number(run.startDate)
    assert.are.equal(0.125, run.startDate - math.floor(run.startDate)) -- fraction kept
    assert.is_number(run.stopDate)
    assert.is_nil(page.mapRuns[10].stopDate) -- every 10th run is still running
    local meta = page.ResponseMetadata
    assert.are.equal(200, meta.HTTPStatusCode)
    assert.is_string(meta.RequestId)
    assert.are.equal(0, meta.RetryAttempts)
  end)

  it("follows nextToken to the last page, which has none", function()
    local c = client()
    local params = { executionArn = arn("runs-25"), maxResults = 10 }
    local seen = {}
    repeat
      local page = c:list_map_runs(params)
      for _, run in ipairs(page.mapRuns) do
        seen[#seen + 1] = run.mapRunArn
      end
      params.nextToken = page.nextToken
    until params.nextToken == nil
    assert.are.equal(25, #seen)
  end)

  it("returns an empty page for an execution without Map Runs", function()
    local page = client():list_map_runs { executionArn = arn("none") }
    assert.are.same({}, page.mapRuns)
    assert.is_nil(page.nextToken)
  end)

  it("is accepted by the stand-in's signature check with a session token", function()
    local c = client {
      credentials = { access_key_id = TOKEN_KEY, secret_access_key = TOKEN_SECRET, session_token = TOKEN },
    }
    local page = c:list_map_runs { executionArn = arn("runs-3") }
    assert.are.equal(3, #page.mapRuns)
    local headers = server:stats().last_request.headers
    assert.are.equal(TOKEN, headers["x-amz-security-token"])
    assert.truthy(headers["authorization"]:find("x-amz-security-token", 1, true))
  end)

  it("is refused when the session token is missing", function()
    local c = client { credentials = { access_key_id = TOKEN_KEY, secret_access_key = TOKEN_SECRET } }
    local ok, err = pcall(c.list_map_runs, c, { executionArn = arn("runs-3") })
    assert.is_false(ok)
    assert.are.equal("UnrecognizedClientException", err.code)
  end)

  it("is refused with a wrong secret", function()
    local c = client { credentials = { access_key_id = KEY, secret_access_key = "not-the-secret" } }
    local ok, err = pcall(c.list_map_runs, c, { executionArn = arn("runs-3") })
    assert.is_false(ok)
    assert.are.equal("InvalidSignatureException", err.code)
    assert.are.equal(400, err.status)
    assert.is_false(err.retryable)
    assert.is_nil(tostring(err):find("not-the-secret", 1, true))
  end)

  it("sends the awsJson1_0 request with SDK headers", function()
    client():list_map_runs { executionArn = arn("runs-3"), maxResults = 2 }
    local last = server:stats().last_request
    local h = last.headers
    assert.are.equal("AWSStepFunctions.ListMapRuns", h["x-amz-target"])
    assert.are.equal("application/x-amz-json-1.0", h["content-type"])
    assert.truthy(h["user-agent"]:match("^sfn/%d+%.%d+%.%d+ lua/%d%.%d"))
    assert.truthy(h["amz-sdk-invocation-id"]:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"))
    assert.are.equal("attempt=1; max=1", h["amz-sdk-request"])
    assert.are.equal('{"executionArn":"' .. arn("runs-3") .. '","maxResults":2}', last.body)
  end)

  it("reuses one connection for 100 sequential calls", function()
    local c = client()
    server:reset()
    for _ = 1, 100 do
      c:list_map_runs { executionArn = arn("runs-3") }
    end
    local stats = server:stats()
    assert.are.equal(100, stats.requests)
    assert.are.equal(1, stats.connections)
  end)

  it("exposes the resolved region and endpoint", function()
    local c = client()
    assert.are.equal("us-east-1", c.region)
    assert.are.equal(server.url, c.endpoint)
  end)
end)

describe("iterators", function()
  it("walk every page", function()
    local pages, count = 0, 0
    for page in client():list_map_runs_pages({ executionArn = arn("runs-250") }, { page_size = 7 }) do
      pages = pages + 1
      count = count + #page.mapRuns
    end
    assert.are.equal(36, pages)
    assert.are.equal(250, count)
  end)

  it("let a page go as soon as the caller drops it", function()
    -- The sfn.Call that fetched a page has a finalizer: had it kept the
    -- page, one full collection would not free it (it is kept for the
    -- call's finalizer), and a long walk would hold a page per collection
    -- cycle (5.8 MB instead of under 1 MB over 100 pages of 1,000).
    local c = client()
    local params = { executionArn = arn("runs-2500"), maxResults = 1000 }
    local function fetch()
      return #c:list_map_runs(params).mapRuns
    end
    assert.are.equal(1000, fetch()) -- warm: connection, caches
    collectgarbage()
    collectgarbage()
    local base = collectgarbage("count")
    assert.are.equal(1000, fetch())
    collectgarbage()
    local kept = collectgarbage("count") - base
    assert(kept < 100, ("%.0f KB still held after one full collection"):format(kept))
  end)

  it("walk every item in order", function()
    local starts = {}
    for run in client():map_runs { executionArn = arn("runs-250"), maxResults = 100 } do
      starts[#starts + 1] = run.startDate
    end
    assert.are.equal(250, #starts)
    for i = 2, #starts do
      assert.is_true(starts[i] > starts[i - 1])
    end
  end)

  it("stop at max_items mid-page and resume exactly after the last item", function()
    local c = client()
    local params = { executionArn = arn("runs-25") }
    local first, token = c:all_map_runs(params, { max_items = 10, page_size = 7 })
    assert.are.equal(10, #first)
    assert.is_string(token)
    local rest, none = c:all_map_runs(params, { starting_token = token, page_size = 7 })
    assert.are.equal(15, #rest)
    assert.is_nil(none)
    local all = c:all_map_runs(params)
    for i = 1, 10 do
      assert.are.equal(all[i].mapRunArn, first[i].mapRunArn)
    end
    for i = 1, 15 do
      assert.are.equal(all[10 + i].mapRunArn, rest[i].mapRunArn)
    end
  end)

  it("expose the resume token on the iterator state", function()
    local iterate, state = client():map_runs({ executionArn = arn("runs-25") }, { max_items = 3, page_size = 7 })
    local n = 0
    for _ in iterate, state do
      n = n + 1
    end
    assert.are.equal(3, n)
    assert.is_string(state.resume_token)
  end)

  it("resume from a starting token made by boto3's paginator", function()
    local missing = support.capture([[python3 -c 'import botocore.paginate' 2>&1]])
    if missing ~= "" then
      pending("botocore is not importable by python3")
      return
    end
    local c = client()
    local params = { executionArn = arn("runs-25") }
    local page = c:list_map_runs { executionArn = params.executionArn, maxResults = 7 }
    -- boto3 stopped 2 items into the page after page one.
    local encode = ([[python3 -c 'from botocore.paginate import TokenEncoder; print(TokenEncoder().encode({"nextToken": "%s", "boto_truncate_amount": 2}))']])
      :format(page.nextToken)
    local handle = io.popen(encode)
    local token = handle:read("*l")
    handle:close()
    local rest = c:all_map_runs(params, { starting_token = token, page_size = 7 })
    local all = c:all_map_runs(params)
    assert.are.equal(25 - 9, #rest)
    assert.are.equal(all[10].mapRunArn, rest[1].mapRunArn)
  end)
end)

describe("retries", function()
  it("retry throttling and report RetryAttempts", function()
    local delays = {}
    local c = client {
      max_attempts = 3,
      sleep = function(s)
        delays[#delays + 1] = s
      end,
    }
    server:reset()
    local page = c:list_map_runs { executionArn = arn("throttle-2") }
    assert.are.equal(2, page.ResponseMetadata.RetryAttempts)
    assert.are.equal(2, #delays)
    assert.is_true(delays[1] >= 0 and delays[1] <= 1)
    assert.is_true(delays[2] >= 0 and delays[2] <= 2)
    assert.truthy(server:stats().last_request.headers["amz-sdk-request"]:match("^ttl=%d+T%d+Z; attempt=3; max=3$"))
  end)

  it("give up after max_attempts with the last error", function()
    local c = client { max_attempts = 2, sleep = function() end }
    local ok, err = pcall(c.list_map_runs, c, { executionArn = arn("throttle-forever") })
    assert.is_false(ok)
    assert.are.equal("ThrottlingException", err.code)
    assert.is_true(err.retryable)
    assert.are.equal(2, err.attempts)
  end)

  it("never retry ExecutionDoesNotExist", function()
    local slept = false
    local c = client { max_attempts = 3, sleep = function() slept = true end }
    local ok, err = pcall(c.list_map_runs, c, { executionArn = arn("missing") })
    assert.is_false(ok)
    assert.are.equal("ExecutionDoesNotExist", err.code)
    assert.are.equal(1, err.attempts)
    assert.is_false(slept)
  end)
end)

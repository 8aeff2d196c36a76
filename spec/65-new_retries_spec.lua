-- AWS_NEW_RETRIES_2026=true: botocore 1.43's opt-in retry behaviour
-- (retries/standard.py) — backoff base 1 s for throttling and 0.05 s for
-- other errors, x-amz-retry-after honoured between the backoff and 5 s
-- beyond it, quota costs 5 (throttling) and 14 (others). Without it,
-- today's behaviour stays. Through libcurl and a function transport.
local sfn = require "sfn"
local curl = require "sfn.curl"
local fakes = require "fakes.fakes"

local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
local CREDENTIALS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local echo

setup(function()
  echo = fakes.start("echo")
end)

teardown(function()
  if echo then echo.stop() end
end)

local function function_transport(req)
  return curl.http_request { method = req.method, url = req.url, headers = req.headers, body = req.body,
    timeout = req.timeout }
end

-- A client with AWS_NEW_RETRIES_2026 as given, recording its sleeps.
local function client(transport, new_retries, slept)
  local config = require "sfn.config"
  local resolve = config.resolve
  -- the environment the client sees, without touching the process's
  config.resolve = function(opts)
    return resolve(opts, function(name)
      if name == "AWS_NEW_RETRIES_2026" then return new_retries end
      return os.getenv(name)
    end)
  end
  local ok, c = pcall(sfn.new, {
    region = "us-east-1", endpoint = echo.url, credentials = CREDENTIALS, max_attempts = 2,
    transport = transport == "curl" and "curl" or function_transport,
    sleep = function(s) slept[#slept + 1] = s end,
  })
  config.resolve = resolve
  assert(ok, tostring(c))
  return c
end

for _, transport in ipairs { "curl", "function" } do
  describe("AWS_NEW_RETRIES_2026 over " .. transport, function()
    it("honours x-amz-retry-after on throttling, and costs 5", function()
      local slept = {}
      local c = client(transport, "true", slept)
      local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "retryafter" })
      assert.is_false(ok)
      assert.are.equal("ThrottlingException", err.code)
      assert.are.equal(1, #slept)
      assert.are.equal(3, slept[1]) -- max(t, min(3, t + 5)) with t < 1
      assert.are.equal(495, c:retry_state().quota)
    end)

    it("backs off from 0.05 s on other errors, and costs 14", function()
      local slept = {}
      local c = client(transport, "TRUE", slept)
      local ok = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "html500" })
      assert.is_false(ok)
      assert.are.equal(1, #slept)
      assert.is_true(slept[1] >= 0 and slept[1] < 0.05, tostring(slept[1]))
      assert.are.equal(486, c:retry_state().quota)
    end)

    it("keeps today's behaviour without it: retry-after ignored, costs 5", function()
      local slept = {}
      local c = client(transport, nil, slept)
      pcall(c.list_map_runs, c, { executionArn = PREFIX .. "retryafter" })
      assert.are.equal(1, #slept)
      assert.is_true(slept[1] < 1, tostring(slept[1]))
      assert.are.equal(495, c:retry_state().quota)
      c = client(transport, "false", slept)
      pcall(c.list_map_runs, c, { executionArn = PREFIX .. "html500" })
      assert.are.equal(495, c:retry_state().quota)
    end)
  end)
end

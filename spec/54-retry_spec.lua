-- The retry policy against the stand-in, through both loops: the C libcurl
-- loop and the Lua driver (a function transport). Quota, clock skew,
-- ExpiredToken refresh, adaptive rate limiting and the log hook.
local sfn = require "sfn"
local curl = require "sfn.curl"
local standin = require "standin"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FQoGZXIvYXdzEXAMPLEsessiontoken"
local ROTATED = "AKIDROTATED" -- the key a refresh brings
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

local function lua_transport(request)
  return curl.http_request {
    method = request.method, url = request.url, headers = request.headers, body = request.body,
  }
end

local TRANSPORTS = { curl = "curl", ["a Lua transport"] = lua_transport }

for label, transport in pairs(TRANSPORTS) do
  describe("with " .. label, function()
    local server

    local function client(opts)
      local o = {
        region = "us-east-1", endpoint = server.url, transport = transport,
        credentials = { access_key_id = KEY, secret_access_key = SECRET, session_token = TOKEN },
        max_attempts = 3, sleep = function() end,
      }
      for k, v in pairs(opts or {}) do
        o[k] = v
      end
      return sfn.new(o)
    end

    setup(function()
      server = standin.start {
        credentials = { KEY .. ":" .. SECRET .. ":" .. TOKEN, ROTATED .. ":" .. SECRET .. ":" .. TOKEN .. "2" },
      }
    end)
    teardown(function()
      if server then
        server:stop()
      end
    end)
    before_each(function()
      server:reset()
      server:config { clock_skew = 0 }
    end)

    it("corrects a skewed clock at once and keeps the offset", function()
      server:config { clock_skew = 900 }
      local slept = 0
      local c = client { sleep = function() slept = slept + 1 end }
      local page = c:list_map_runs { executionArn = PREFIX .. "runs-3" }
      assert.are.equal(1, page.ResponseMetadata.RetryAttempts)
      assert.are.equal(0, slept) -- a clock correction retries without waiting
      local offset = c:retry_state().clock_offset
      assert.is_true(math.abs(offset - 900) <= 5, "offset " .. offset)
      assert.are.equal(0, c:list_map_runs({ executionArn = PREFIX .. "runs-3" }).ResponseMetadata.RetryAttempts)
      assert.are.equal(500, c:retry_state().quota) -- clock corrections cost no quota
    end)

    it("corrects a clock that is behind, too", function()
      server:config { clock_skew = -900 }
      local page = client():list_map_runs { executionArn = PREFIX .. "runs-3" }
      assert.are.equal(1, page.ResponseMetadata.RetryAttempts)
    end)

    it("refreshes credentials once on ExpiredTokenException", function()
      local calls, forced = 0, 0
      local c = client {
        credentials = function(force)
          calls = calls + 1
          if force then
            forced = forced + 1
            return { access_key_id = ROTATED, secret_access_key = SECRET, session_token = TOKEN .. "2" }
          end
          return { access_key_id = KEY, secret_access_key = SECRET, session_token = TOKEN }
        end,
      }
      local page = c:list_map_runs { executionArn = PREFIX .. "expired-token-1" }
      assert.are.equal(1, page.ResponseMetadata.RetryAttempts)
      assert.are.equal(1, forced)
      assert.are.equal(2, calls)
      local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "expired-token-forever" })
      assert.is_false(ok)
      assert.are.equal("ExpiredTokenException", err.code)
      -- the refresh brought the rotated key once more: not sent again
      assert.are.equal(2, forced)
      assert.are.equal(1, err.attempts)
    end)

    it("does not resend when a refresh brings the same credentials", function()
      local before = server:stats().requests
      local c = client() -- static credentials
      local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "expired-token-forever" })
      assert.is_false(ok)
      assert.are.equal("ExpiredTokenException", err.code)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, server:stats().requests - before)
    end)

    it("spends and refunds the retry quota", function()
      local c = client { max_attempts = 2 }
      assert.are.equal(500, c:retry_state().quota)
      c:list_map_runs { executionArn = PREFIX .. "throttle-1" }
      assert.are.equal(500, c:retry_state().quota) -- 5 taken, 5 refunded on success
      pcall(c.list_map_runs, c, { executionArn = PREFIX .. "throttle-forever" })
      assert.are.equal(495, c:retry_state().quota)
    end)

    it("stops retrying when the quota is used up, and says so", function()
      local c = client { max_attempts = 5 }
      local last
      for _ = 1, 30 do
        local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "throttle-forever" })
        assert.is_false(ok)
        last = err
        if err.retry_quota_exhausted then
          break
        end
      end
      assert.is_true(last.retry_quota_exhausted)
      assert.truthy(last.message:find("retry quota", 1, true))
      assert.is_true(last.retryable)
      assert.is_true(c:retry_state().quota < 5)
    end)

    it("sends a ttl by the server's clock once a reply gave its Date", function()
      local records = {}
      local c = client { log = function(r) records[#records + 1] = r end, timeout = 30 }
      c:list_map_runs { executionArn = PREFIX .. "throttle-1" }
      assert.are.equal("attempt=1; max=3", records[1].headers["amz-sdk-request"])
      local ttl = records[2].headers["amz-sdk-request"]:match("^ttl=(%d+T%d+Z); attempt=2; max=3$")
      assert.is_string(ttl)
      local function seconds(stamp) -- both sides read the same way, so the zone cancels out
        local y, mo, d, h, mi, sec = stamp:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
        return os.time { year = y, month = mo, day = d, hour = h, min = mi, sec = sec }
      end
      local expected = os.date("!%Y%m%dT%H%M%SZ", os.time() + 30)
      assert.is_true(math.abs(seconds(ttl) - seconds(expected)) <= 5, ttl .. " vs " .. expected)
    end)

    it("reports each attempt to the log hook with secrets redacted", function()
      local records = {}
      local c = client { log = function(r) records[#records + 1] = r end }
      c:list_map_runs { executionArn = PREFIX .. "throttle-2" }
      assert.are.equal(3, #records)
      assert.are.equal("retry", records[1].decision)
      assert.are.equal("ThrottlingException", records[1].error_code)
      assert.are.equal(400, records[1].status)
      assert.is_string(records[1].request_id)
      assert.is_number(records[1].delay)
      assert.are.equal("success", records[3].decision)
      assert.are.equal(200, records[3].status)
      for i, r in ipairs(records) do
        assert.are.equal("ListMapRuns", r.operation)
        assert.are.equal(i, r.attempt)
        assert.is_true(r.duration >= 0)
        assert.are.equal("<redacted>", r.headers.Authorization)
        assert.are.equal("<redacted>", r.headers["X-Amz-Security-Token"])
        for _, v in pairs(r.headers) do
          assert.is_nil(v:find(SECRET, 1, true))
          assert.is_nil(v:find(TOKEN, 1, true))
        end
      end
    end)

    it("survives a log hook that fails", function()
      local c = client { log = function() error("logger down") end }
      assert.are.equal(3, #c:list_map_runs({ executionArn = PREFIX .. "runs-3" }).mapRuns)
    end)

    it("slows down under throttling in adaptive mode", function()
      local waits = {}
      local c = client {
        retry_mode = "adaptive", max_attempts = 2,
        sleep = function(s) waits[#waits + 1] = s end,
      }
      assert.are.equal("adaptive", c:retry_state().mode)
      for _ = 1, 6 do
        pcall(c.list_map_runs, c, { executionArn = PREFIX .. "throttle-forever" })
      end
      -- Beyond the backoff sleeps, the rate limiter now makes sends wait.
      local before = #waits
      pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
      assert.is_true(#waits > before, "the rate limiter did not wait")
    end)
  end)
end

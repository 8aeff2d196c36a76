-- Secrets hygiene: every error and every log record that a run of failures
-- produces, through both loops, holds neither the secret key nor the
-- session token.
local sfn = require "sfn"
local safe = require "sfn.safe"
local curl = require "sfn.curl"
local standin = require "standin"

local KEY = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN = "FQoGZXIvYXdzEXAMPLEsessiontoken"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

local FAULTS = {
  "missing", "access-denied", "validation", "throttle-forever", "error-500", "error-503-html",
  "bad-shape", "truncated-json", "redirect", "drop", "truncated", "reset-mid-body",
  "expired-token-forever", "hang",
}

-- Every string reachable from v, tables walked (cycles skipped).
local function strings_in(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "string" then
    out[#out + 1] = v
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      strings_in(k, out, seen)
      strings_in(x, out, seen)
    end
    if getmetatable(v) == sfn.Error then
      out[#out + 1] = tostring(v)
    end
  end
  return out
end

local function assert_clean(value, what)
  for _, text in ipairs(strings_in(value)) do
    assert.is_nil(text:find(SECRET, 1, true), what .. " holds the secret key: " .. text)
    assert.is_nil(text:find(TOKEN, 1, true), what .. " holds the session token")
  end
end

local server

setup(function()
  server = standin.start { credentials = { KEY .. ":" .. SECRET .. ":" .. TOKEN } }
end)

teardown(function()
  if server then
    server:stop()
  end
end)

local function lua_transport(request)
  return curl.http_request {
    method = request.method, url = request.url, headers = request.headers, body = request.body,
    timeout = request.timeout,
  }
end

for label, transport in pairs { curl = "curl", ["a Lua transport"] = lua_transport } do
  describe("with " .. label, function()
    it("no error or log record holds a secret", function()
      local produced = {}
      local c = sfn.new {
        region = "us-east-1", endpoint = server.url, transport = transport,
        credentials = { access_key_id = KEY, secret_access_key = SECRET, session_token = TOKEN },
        max_attempts = 2, timeout = 1, sleep = function() end,
        log = function(record) produced[#produced + 1] = record end,
      }
      for _, fault in ipairs(FAULTS) do
        local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. fault })
        assert.is_false(ok, fault)
        produced[#produced + 1] = err
      end
      -- and a wrong secret, which makes the service echo its canonical request
      local wrong = sfn.new {
        region = "us-east-1", endpoint = server.url, transport = transport,
        credentials = { access_key_id = KEY, secret_access_key = SECRET .. "x", session_token = TOKEN },
        max_attempts = 1,
      }
      produced[#produced + 1] = select(2, pcall(wrong.list_map_runs, wrong, { executionArn = PREFIX .. "runs-1" }))
      assert.is_true(#produced > #FAULTS * 2)
      assert_clean(produced, label)
    end)
  end)
end

describe("configuration and credentials errors", function()
  it("never echo what they refuse", function()
    local produced = {}
    local cases = {
      { credentials = { access_key_id = KEY, secret_access_key = SECRET .. "\n" } },
      { credentials = { access_key_id = KEY, secret_access_key = SECRET, session_token = TOKEN .. "\r\n" } },
      { credentials = { access_key_id = KEY, secret_access_key = 42, session_token = TOKEN } },
      { credentials = { access_key_id = "", secret_access_key = SECRET, session_token = TOKEN } },
      { credentials = function() error("provider failed holding " .. SECRET) end },
      { credentials = function() return { access_key_id = KEY, secret_access_key = SECRET, session_token = {} } end },
    }
    for _, opts in ipairs(cases) do
      opts.region, opts.endpoint, opts.max_attempts = "us-east-1", server.url, 1
      local c, err = safe.new(opts)
      if c then
        c, err = c:list_map_runs { executionArn = PREFIX .. "runs-1" }
      end
      assert.is_nil(c)
      produced[#produced + 1] = err
    end
    assert_clean(produced, "credentials errors")
  end)
end)

-- A hostile endpoint (spec/fakes/aws_fakes.py "echo") plants the secret it
-- was sent — the session token, or the secret key — in every part of a
-- reply: request id, error type header, __type, message, a message long
-- enough that the 1,024-byte cut falls inside the secret, the reason
-- phrase (cut at 63 bytes), an HTML 500 and a 2xx that is not JSON. Through
-- libcurl and through a function transport, no field of the error, no
-- tostring(err) and no log record may hold the secret or any 16-byte
-- fragment of it.
local sfn = require "sfn"
local curl = require "sfn.curl"
local fakes = require "fakes.fakes"

local KEY = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
-- long enough that every cut leaves a fragment of 16 bytes or more
local TOKEN = ("FQoGZXIvYXdzEXAMPLEtoken/"):rep(12)
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
local PLACES = { "requestid", "errortype", "type", "message", "longmessage", "reason", "html500", "garbage200" }

local function fragments(secret)
  local out = {}
  for i = 1, #secret - 15 do
    out[#out + 1] = secret:sub(i, i + 15)
  end
  return out
end

-- Every string reachable from v (tables walked once).
local function strings(v, out, seen)
  out, seen = out or {}, seen or {}
  if type(v) == "string" then
    out[#out + 1] = v
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      strings(k, out, seen)
      strings(x, out, seen)
    end
  end
  return out
end

local function assert_clean(texts, secret, where)
  local pieces = fragments(secret)
  for _, text in ipairs(texts) do
    for _, piece in ipairs(pieces) do
      assert(not text:find(piece, 1, true), where .. ": a fragment of the secret leaked in " .. ("%q"):format(text))
    end
  end
end

local function function_transport(req)
  return curl.http_request {
    method = req.method, url = req.url, headers = req.headers, body = req.body,
    timeout = req.timeout, connect_timeout = req.connect_timeout,
  }
end

local servers = {}

setup(function()
  servers.token = fakes.start("echo")
  servers.secret = fakes.start("echo", { "--secret", SECRET })
end)

teardown(function()
  for _, s in pairs(servers) do
    s.stop()
  end
end)

for _, transport in ipairs { "curl", "function" } do
  for planted, secret in pairs { token = TOKEN, secret = SECRET } do
    describe(("the %s planted by the service, over %s"):format(planted, transport), function()
      for _, place in ipairs(PLACES) do
        it("is redacted from every field when it is in the " .. place, function()
          local records = {}
          local c = sfn.new {
            region = "us-east-1", endpoint = servers[planted].url, max_attempts = 2,
            transport = transport == "curl" and "curl" or function_transport,
            credentials = { access_key_id = KEY, secret_access_key = SECRET, session_token = TOKEN },
            sleep = function() end,
            log = function(record) records[#records + 1] = record end,
          }
          local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. place })
          assert.is_false(ok)
          assert.is_true(sfn.is_error(err))
          local texts = strings(err)
          texts[#texts + 1] = tostring(err)
          for _, s in ipairs(strings(records)) do
            texts[#texts + 1] = s
          end
          assert_clean(texts, secret, place)
          assert.is_true(#records >= 1)
        end)
      end
    end)
  end
end

describe("the CLI facing the same endpoint", function()
  local support = require "support"
  for planted, secret in pairs { token = TOKEN, secret = SECRET } do
    for _, place in ipairs(PLACES) do
      it(("prints no part of the %s planted in the %s"):format(planted, place), function()
        local cmd = ("env AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s AWS_MAX_ATTEMPTS=1 "
          .. "LUA_PATH=%s LUA_CPATH=%s %s bin/sfn-map-runs %s --region us-east-1 --endpoint %s 2>&1")
          :format(KEY, support.quote(SECRET), support.quote(TOKEN), support.quote(support.lua_path()),
            support.quote(support.lua_cpath()), support.quote(support.interpreter()),
            support.quote(PREFIX .. place), support.quote(servers[planted].url))
        local out = support.capture(cmd)
        assert.truthy(out:find("sfn-map-runs:", 1, true), out) -- it did fail, and said so
        assert_clean({ out }, secret, "CLI, " .. place)
      end)
    end
  end
end)

describe("core.redact_text", function()
  local core = require "sfn.core"
  it("redacts whole secrets and fragments of 16 bytes or more, and leaves the rest", function()
    assert.are.equal("a <redacted> b", core.redact_text("a " .. SECRET .. " b", { SECRET }))
    -- cut before the end: the first 20 bytes remain
    assert.are.equal("cut: <redacted>", core.redact_text("cut: " .. SECRET:sub(1, 20), { SECRET }))
    -- cut at the start: the last 17 bytes remain
    assert.are.equal("<redacted>!", core.redact_text(SECRET:sub(-17) .. "!", { SECRET }))
    -- 15 bytes of it are too few to say
    local short = SECRET:sub(1, 15)
    assert.are.equal("x" .. short, core.redact_text("x" .. short, { SECRET }))
    assert.are.equal("plain", core.redact_text("plain", { SECRET, TOKEN }))
    -- short secrets are redacted whole
    assert.are.equal("<redacted>-<redacted>", core.redact_text("abc-abc", { "abc" }))
  end)
end)

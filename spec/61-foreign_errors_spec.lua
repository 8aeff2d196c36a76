-- Whatever goes wrong comes out as an sfn.Error with the right code: a
-- wrong `self`, options and credentials whose metamethods raise, hooks and
-- transports that raise odd values or yield where they cannot, a server
-- that does not speak HTTP.
local sfn = require "sfn"
local fakes = require "fakes.fakes"
local standin = require "standin"

local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
local CREDENTIALS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local server, echo

setup(function()
  server = standin.start {}
  echo = fakes.start("echo")
end)

teardown(function()
  if server then server:stop() end
  if echo then echo.stop() end
end)

local function client(opts)
  local o = { region = "us-east-1", endpoint = server.url, credentials = CREDENTIALS, max_attempts = 1 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return sfn.new(o)
end

-- The sfn.Error f raises (fails when f succeeds or raises anything else).
local function error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(sfn.is_error(err), "not an sfn.Error: " .. tostring(err))
  return err
end

local function raising(msg)
  return function() error(msg, 0) end
end

describe("errors that are not sfn.Errors become sfn.Errors", function()
  it("a wrong self on every method", function()
    local c = client()
    for _, name in ipairs { "list_map_runs", "list_map_runs_pages", "map_runs", "all_map_runs", "retry_state", "close" } do
      for _, self in ipairs { { executionArn = "x" }, false, "client" } do
        local err = error_of(c[name], self, { executionArn = PREFIX .. "runs-3" })
        assert.are.equal("ValidationError", err.code)
        assert.truthy(err.message:find(name, 1, true), err.message)
      end
      assert.are.equal("ValidationError", error_of(c[name]).code) -- no self at all
    end
  end)

  it("options whose metamethods raise", function()
    local mts = { { __index = raising("index boom") } }
    if _VERSION ~= "Lua 5.1" then mts[2] = { __pairs = raising("pairs boom") } end
    for _, mt in ipairs(mts) do
      local err = error_of(sfn.new, setmetatable({ region = "us-east-1" }, mt))
      assert.are.equal("ConfigError", err.code)
      assert.truthy(err.message:find("boom", 1, true), err.message)
    end
  end)

  it("credentials whose metamethods raise", function()
    local creds = setmetatable({}, { __index = raising("creds boom") })
    local ok, err = pcall(function()
      return client({ credentials = creds }):list_map_runs { executionArn = PREFIX .. "runs-3" }
    end)
    assert.is_false(ok)
    assert.is_true(sfn.is_error(err), tostring(err))
    assert.truthy(err.code == "ConfigError" or err.code == "CredentialsError", err.code)
  end)

  for _, transport in ipairs { "curl", "function" } do
    local function via(opts)
      opts = opts or {}
      if transport == "function" then
        opts.transport = opts.transport or function(req)
          return require("sfn.curl").http_request { method = req.method, url = req.url, headers = req.headers,
            body = req.body, timeout = req.timeout }
        end
      end
      return client(opts)
    end

    it("a sleep hook that raises, over " .. transport, function()
      for _, value in ipairs { "sleep boom", { not_an = "error" }, setmetatable({}, { __tostring = raising("x") }) } do
        local c = via { max_attempts = 2, sleep = function() error(value, 0) end }
        server:reset()
        local err = error_of(c.list_map_runs, c, { executionArn = PREFIX .. "throttle-1" })
        assert.are.equal("ConfigError", err.code)
        assert.truthy(err.message:find("sleep", 1, true), err.message)
      end
    end)

    it("a server that does not speak HTTP, over " .. transport, function()
      local c = via { endpoint = echo.url }
      local err = error_of(c.list_map_runs, c, { executionArn = PREFIX .. "nothttp" })
      assert.are.equal("TransportError", err.code)
    end)
  end

  it("a sleep hook that yields where a C caller cannot let it (curl)", function()
    local c = client { max_attempts = 2, sleep = function() coroutine.yield() end }
    server:reset()
    local co = coroutine.create(function()
      return pcall(c.list_map_runs, c, { executionArn = PREFIX .. "throttle-1" })
    end)
    local resumed, ok, err = coroutine.resume(co)
    assert.is_true(resumed)
    assert.is_false(ok) -- the yield is refused inside the C driver, not let out
    assert.is_true(sfn.is_error(err), tostring(err))
    assert.are.equal("ConfigError", err.code)
  end)

  it("a transport that raises a value whose __tostring raises", function()
    local c = client { transport = function() error(setmetatable({}, { __tostring = raising("nope") }), 0) end }
    local err = error_of(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
    assert.are.equal("TransportError", err.code)
  end)

  it("a transport whose reply headers have a __pairs that raises", function()
    local c = client {
      transport = function(req)
        local status, headers, body = require("sfn.curl").http_request {
          method = req.method, url = req.url, headers = req.headers, body = req.body, timeout = req.timeout }
        return status, setmetatable(headers, { __pairs = raising("pairs") }), body
      end,
    }
    -- headers are read raw: the reply is the page
    local ok, page = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
    assert.is_true(ok, tostring(page))
    assert.are.equal(3, #page.mapRuns)
  end)
end)

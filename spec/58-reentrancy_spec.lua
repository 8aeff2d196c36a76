-- Lua code that runs in the middle of a call — finalizers during decoding,
-- the credentials, sleep and log hooks — may use the same client again. The
-- outer call must not see the inner one's buffers (under ASan in CI, a use
-- after free here is a report).
local sfn = require "sfn"
local standin = require "standin"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
local CREDENTIALS = { access_key_id = KEY, secret_access_key = SECRET }

local server

setup(function()
  server = standin.start {}
end)

teardown(function()
  if server then
    server:stop()
  end
end)

local function client(opts)
  local o = { region = "us-east-1", endpoint = server.url, credentials = CREDENTIALS, transport = "curl" }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return sfn.new(o)
end

describe("re-entrant use of one client", function()
  it("survives finalizers that call the client while a page is decoded", function()
    local c = client()
    local inner = 0
    local function plant(n)
      for _ = 1, n do
        -- __gc on tables: Lua 5.2+; on 5.1/LuaJIT a newproxy does the same
        local mt = { __gc = function()
          inner = inner + 1
          c:list_map_runs { executionArn = PREFIX .. "runs-7" }
        end }
        if _VERSION == "Lua 5.1" then
          local p = newproxy(true)
          getmetatable(p).__gc = mt.__gc
        else
          setmetatable({}, mt)
        end
      end
    end
    for _ = 1, 5 do
      plant(20)
      local page = c:list_map_runs { executionArn = PREFIX .. "runs-1000", maxResults = 1000 }
      assert.are.equal(1000, #page.mapRuns)
      assert.are.equal(PREFIX .. "runs-1000", page.mapRuns[1000].executionArn)
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(inner >= 100)
  end)

  it("lets the credentials, sleep and log hooks call the same client", function()
    local c
    local depth, inner = 0, 0
    local function reenter()
      if depth == 0 then
        depth = 1
        inner = inner + #c:list_map_runs({ executionArn = PREFIX .. "runs-3" }).mapRuns
        depth = 0
      end
    end
    c = client {
      credentials = function() reenter(); return CREDENTIALS end,
      sleep = function() reenter() end,
      log = function() reenter() end,
      max_attempts = 3,
    }
    server:reset()
    local page = c:list_map_runs { executionArn = PREFIX .. "throttle-1" }
    assert.are.equal(1, page.ResponseMetadata.RetryAttempts)
    assert.is_true(inner >= 9)
  end)

  it("keeps working when a hook closes the client mid-call", function()
    local c
    c = client { log = function() c:close() end, max_attempts = 2, sleep = function() end }
    server:reset()
    local page = c:list_map_runs { executionArn = PREFIX .. "throttle-1" }
    assert.are.equal(1, page.ResponseMetadata.RetryAttempts)
    local ok, err = pcall(c.list_map_runs, c, { executionArn = PREFIX .. "runs-3" })
    assert.is_false(ok)
    assert.are.equal("ConfigError", err.code)
  end)
end)

-- sfn.safe: the same API, returning nil, err instead of raising.
local safe = require "sfn.safe"
local standin = require "standin"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

local server

local function client()
  return assert(safe.new {
    region = "us-east-1",
    endpoint = server.url,
    credentials = { access_key_id = KEY, secret_access_key = SECRET },
    max_attempts = 1,
  })
end

setup(function()
  server = standin.start {}
end)

teardown(function()
  if server then
    server:stop()
  end
end)

describe("sfn.safe", function()
  it("returns nil, err from new", function()
    local c, err = safe.new { endpoint = "ftp://x", region = "us-east-1" }
    assert.is_nil(c)
    assert.is_true(safe.is_error(err))
    assert.are.equal("ConfigError", err.code)
  end)

  it("wraps every public method of the client", function()
    local c = client()
    for name, method in pairs(require("sfn")._Client) do
      if type(method) == "function" and name:sub(1, 1) ~= "_" then
        assert.is_function(c[name], name)
      end
    end
    assert.are.equal(500, c:retry_state().quota)
    c:close()
    local ok, err = c:list_map_runs { executionArn = PREFIX .. "runs-3" }
    assert.is_nil(ok)
    assert.are.equal("ConfigError", err.code) -- closed: an error value, not a raise
    ok, err = c:retry_state()
    assert.is_table(ok)
    assert.is_nil(err)
  end)

  it("returns the page, or nil, err", function()
    local c = client()
    local page = assert(c:list_map_runs { executionArn = PREFIX .. "runs-3" })
    assert.are.equal(3, #page.mapRuns)
    local none, err = c:list_map_runs { executionArn = PREFIX .. "missing" }
    assert.is_nil(none)
    assert.are.equal("ExecutionDoesNotExist", err.code)
    none, err = c:list_map_runs { executionArn = 42 }
    assert.is_nil(none)
    assert.are.equal("ValidationError", err.code)
  end)

  it("iterators end with nil, err after the items already yielded", function()
    local c = client()
    local iterate, state = c:map_runs { executionArn = PREFIX .. "runs-3" }
    local runs = {}
    while true do
      local run, err = iterate(state)
      if run == nil then
        assert.is_nil(err)
        break
      end
      runs[#runs + 1] = run
    end
    assert.are.equal(3, #runs)

    iterate, state = c:list_map_runs_pages { executionArn = PREFIX .. "missing" }
    local page, err = iterate(state)
    assert.is_nil(page)
    assert.are.equal("ExecutionDoesNotExist", err.code)
    assert.are.equal(err, state.error)
    assert.is_nil(iterate(state)) -- stays ended
  end)

  it("iterators report bad pagination as nil, err", function()
    local iterate, state = client():map_runs({ executionArn = PREFIX .. "runs-3" }, { max_items = -1 })
    local run, err = iterate(state)
    assert.is_nil(run)
    assert.are.equal("ValidationError", err.code)
  end)

  it("gives the resume token through the iterator state", function()
    local iterate, state = client():map_runs({ executionArn = PREFIX .. "runs-25" }, { max_items = 4 })
    local n = 0
    for _ in iterate, state do
      n = n + 1
    end
    assert.are.equal(4, n)
    assert.is_string(state.resume_token)
    local rest, token = client():all_map_runs({ executionArn = PREFIX .. "runs-25" },
      { starting_token = state.resume_token })
    assert.are.equal(21, #rest)
    assert.is_nil(token)
  end)

  it("keeps iso8601 and is_error", function()
    assert.are.equal("1970-01-01T00:00:01.500Z", safe.iso8601(1.5))
    local none, err = safe.iso8601("x")
    assert.is_nil(none)
    assert.are.equal("ValidationError", err.code)
  end)
end)

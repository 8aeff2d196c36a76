-- Wrong-type sweeps for every public entry point that the parameter and
-- pagination sweeps (spec/51-errors_spec.lua) do not cover: each option of
-- sfn.new, sfn.iso8601, the safe twins (sfn.safe.new, sfn.safe.iso8601)
-- and the CLI's entry point. Every wrong type is refused with the library's
-- code (never a Lua error string), before any I/O, and the message names
-- what was wrong; the safe twins return nil, err with the same error.
local sfn = require "sfn"
local safe = require "sfn.safe"
local cli = require "sfn.cli"

local CREDENTIALS = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

-- One value of each Lua type (a full userdata and a coroutine included).
local VALUES = {
  { "nil", nil },
  { "boolean", true },
  { "false", false },
  { "integer", 42 },
  { "float", 0.5 },
  { "NaN", 0 / 0 },
  { "string", "x" },
  { "empty string", "" },
  { "table", {} },
  { "function", function() end },
  { "thread", coroutine.create(function() end) },
  { "userdata", io.stdout },
}

-- For each option: the kinds of VALUES it accepts (the rest must be refused).
local OPTIONS = {
  region = { "string" },
  profile = {},                  -- "x" is a well-typed name that does not exist: refused too
  endpoint = {},                 -- "x" is not an http(s) URL
  credentials = { "function" },  -- {} lacks the keys: refused, naming the option
  max_attempts = { "integer" },
  connect_timeout = { "integer", "float" },
  timeout = { "integer", "float" },
  ca_file = { "string" },
  transport = { "function" },    -- or "curl" / "ngx", below
  retry_mode = {},               -- "standard" / "adaptive", below
  use_fips_endpoint = { "boolean", "false" },
  use_dualstack_endpoint = { "boolean", "false" },
  log = { "function" },
  sleep = { "function" },
  shared_dict = { "string" },
}

local function accepts(list, kind)
  for _, k in ipairs(list) do
    if k == kind then
      return true
    end
  end
  return false
end

local function options_with(name, value)
  local o = { region = "us-east-1", credentials = CREDENTIALS }
  o[name] = value
  return o
end

local function raised(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "no error raised")
  assert.is_true(sfn.is_error(err), "not an sfn.Error: " .. tostring(err))
  return err
end

describe("sfn.new refuses every wrong type", function()
  for _, kind in ipairs(VALUES) do
    if kind[1] ~= "nil" and kind[1] ~= "table" then
      it("for the options table itself: " .. kind[1], function()
        local err = raised(sfn.new, kind[2])
        assert.are.equal("ConfigError", err.code)
        assert.truthy(err.message:find("options must be a table", 1, true), err.message)
        local client, serr = safe.new(kind[2])
        assert.is_nil(client)
        assert.are.equal("ConfigError", serr.code)
        assert.are.equal(err.message, serr.message)
      end)
    end
  end

  for name, ok_kinds in pairs(OPTIONS) do
    it("for option " .. name, function()
      local refused = 0
      for _, kind in ipairs(VALUES) do
        local label, value = kind[1], kind[2]
        if label ~= "nil" then
          local o = options_with(name, value)
          if accepts(ok_kinds, label) and label ~= "empty string" then
            local client = sfn.new(o)
            assert.are.equal(name == "region" and value or "us-east-1", client.region, name .. " = " .. label)
            client:close()
          else
            local err = raised(sfn.new, o)
            assert.are.equal("ConfigError", err.code, name .. " = " .. label)
            assert.are.equal(0, err.attempts)
            assert.truthy(err.message:find(name, 1, true), name .. " = " .. label .. ": " .. err.message)
            local client, serr = safe.new(o)
            assert.is_nil(client)
            assert.are.equal("ConfigError", serr.code)
            refused = refused + 1
          end
        end
      end
      assert.is_true(refused >= 6, name .. ": only " .. refused .. " values refused")
    end)
  end

  it("accepts the named values of transport and retry_mode", function()
    for _, o in ipairs { { transport = "curl" }, { transport = "ngx" }, { retry_mode = "standard" },
      { retry_mode = "adaptive" } } do
      o.region, o.credentials = "us-east-1", CREDENTIALS
      assert.are.equal("us-east-1", sfn.new(o).region)
    end
  end)

  it("refuses keys that are not option names, of any type", function()
    for _, kind in ipairs(VALUES) do
      local key = kind[2]
      if key ~= nil and key == key then
        local o = { region = "us-east-1", credentials = CREDENTIALS }
        o[key] = true
        local err = raised(sfn.new, o)
        assert.are.equal("ConfigError", err.code, kind[1])
        assert.truthy(err.message:find("unknown option", 1, true), err.message)
      end
    end
  end)
end)

describe("sfn.iso8601 and sfn.safe.iso8601 refuse every wrong type", function()
  for _, kind in ipairs(VALUES) do
    local label, value = kind[1], kind[2]
    if label ~= "integer" and label ~= "float" then
      it(label, function()
        local err = raised(sfn.iso8601, value)
        assert.are.equal("ValidationError", err.code)
        assert.are.equal(0, err.attempts)
        local text, serr = safe.iso8601(value)
        assert.is_nil(text)
        assert.are.equal("ValidationError", serr.code)
        assert.are.equal(err.message, serr.message)
      end)
    end
  end

  it("formats numbers, the safe twin the same way", function()
    assert.are.equal("1970-01-01T00:00:42.000Z", sfn.iso8601(42))
    assert.are.equal("1970-01-01T00:00:00.500Z", safe.iso8601(0.5))
    assert.are.equal(sfn.iso8601(1700000000.125), safe.iso8601(1700000000.125))
  end)
end)

describe("the CLI's entry point refuses every wrong type with a usage error", function()
  local function run(argv)
    local out, err = {}, {}
    local ctx = {
      stdout = { write = function(self, ...) out[#out + 1] = table.concat({ ... }) return self end,
        flush = function() return true end },
      stderr = { write = function(self, ...) err[#err + 1] = table.concat({ ... }) return self end,
        flush = function() return true end },
      new_client = function()
        error("the CLI made a client for a usage error")
      end,
    }
    local status = cli.run(argv, ctx)
    return status, table.concat(out), table.concat(err)
  end

  for _, kind in ipairs(VALUES) do
    local label, value = kind[1], kind[2]
    if label ~= "table" then
      it("as the argument list: " .. label, function()
        local status, out, err = run(value)
        assert.are.equal(2, status)
        assert.are.equal("", out)
        assert.truthy(err:find("^sfn%-map%-runs: "), err)
        assert.truthy(err:find("usage: sfn-map-runs", 1, true), err)
      end)
    end
    if label ~= "string" and label ~= "nil" then
      it("as an argument: " .. label, function()
        for _, argv in ipairs {
          { value },
          { "arn:aws:states:us-east-1:123456789012:execution:flow:x", value },
          { "arn:aws:states:us-east-1:123456789012:execution:flow:x", "--max-items", value },
          { [0] = "sfn-map-runs", n = 2, "--region", value },
        } do
          local status, out, err = run(argv)
          assert.are.equal(2, status, label)
          assert.are.equal("", out)
          assert.truthy(err:find("usage: sfn-map-runs", 1, true), err)
        end
      end)
    end
  end

  it("refuses an argument count that is not one", function()
    for _, n in ipairs { -1, 0.5, 0 / 0, "2", {}, true, 1e12 } do
      local status, out, err = run { n = n, "--version" }
      assert.are.equal(2, status, tostring(n))
      assert.are.equal("", out)
      assert.truthy(err:find("usage: sfn-map-runs", 1, true), err)
    end
  end)

  it("run answers --version and a usage error with statuses, never raising", function()
    assert.are.equal(2, cli.run({ "--max-items" }, { stdout = io.stdout, stderr = { write = function(self) return self end,
      flush = function() return true end } }))
    local status, out = run { "--version" }
    assert.are.equal(0, status)
    assert.truthy(out:find("sfn-map-runs " .. sfn._VERSION, 1, true), out)
  end)
end)

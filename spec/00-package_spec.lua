-- The package as a whole: modules load without globals, versions agree, and
-- the rockspec installs every source file that exists.
local support = require "support"
local lines_of = support.lines

local function read(path)
  return assert(support.read_file(path))
end

local function rockspec_path()
  return lines_of("ls sfn-*.rockspec")[1]
end

describe("package", function()
  it("loads every module without creating globals", function()
    local before = {}
    for k in pairs(_G) do
      before[k] = true
    end
    for _, name in ipairs { "sfn", "sfn.core", "sfn.safe", "sfn.errors", "sfn.config", "sfn.driver" } do
      require(name)
    end
    for k in pairs(_G) do
      assert.is_true(before[k] ~= nil, "new global: " .. tostring(k))
    end
  end)

  it("agrees on one version, in the core, the front and the rockspec", function()
    local core = require "sfn.core"
    assert.truthy(core._VERSION:match("^%d+%.%d+%.%d+$"))
    assert.are.equal(core._VERSION, require("sfn")._VERSION)
    local spec = read(rockspec_path())
    assert.truthy(spec:find('version = "' .. core._VERSION .. "%-%d+\""))
    assert.truthy(rockspec_path():find(core._VERSION, 1, true))
  end)

  it("keeps the front from changing the core's table", function()
    local core = require "sfn.core"
    local sfn = require "sfn"
    assert.are_not.equal(core, sfn)
    assert.is_nil(rawget(core, "new"))
  end)

  it("lists every C source in the rockspec", function()
    local spec = read(rockspec_path())
    for _, file in ipairs(lines_of("ls src/*.c src/curl/*.c")) do
      assert.truthy(spec:find('"' .. file .. '"', 1, true), file .. " is missing from the rockspec")
    end
  end)

  it("loads libcurl only when a client sends through it", function()
    local support = require "support"
    -- a fresh interpreter: this one has loaded sfn.curl for other specs
    local script = [[
      local function mapped()
        local f = assert(io.open("/proc/self/maps"))
        local maps = f:read("*a")
        f:close()
        return maps:find("libcurl", 1, true) ~= nil
      end
      local sfn = require "sfn"
      sfn.new { region = "us-east-1", credentials = { access_key_id = "AKID", secret_access_key = "S" } }
      io.write(tostring(mapped()), " ")
      require "sfn.curl"
      io.write(tostring(mapped()))
    ]]
    local out = support.capture(("LUA_PATH=%s LUA_CPATH=%s %s -e %s"):format(support.quote(support.lua_path()),
      support.quote(support.lua_cpath()), support.quote(support.interpreter()), support.quote(script)))
    assert.are.equal("false true", out)
  end)

  it("installs every Lua module with the rockspec", function()
    local spec = read(rockspec_path())
    for _, file in ipairs(lines_of("cd lua && find . -name '*.lua' | sort")) do
      local path = file:gsub("^%./", "")
      local module = path:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
      assert.truthy(spec:find('["' .. module .. '"] = "lua/' .. path .. '"', 1, true)
        or spec:find(module .. ' = "lua/' .. path .. '"', 1, true),
        "lua/" .. path .. " is not installed by the rockspec")
    end
  end)

  it("exports only luaopen_sfn_core from the shared object", function()
    local cpath = (os.getenv("SFN_CPATH") or "build/?.so"):gsub("%?", "sfn/core")
    local symbols = lines_of("nm -D --defined-only " .. cpath .. " | awk '{print $3}' | grep -v '^_'")
    assert.are.same({ "luaopen_sfn_core" }, symbols)
  end)
end)

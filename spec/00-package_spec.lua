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
  -- Every module the package ships (each Lua file under lua/, and the two C
  -- modules), each in a fresh interpreter so that none hides behind another
  -- one that was loaded first; reading an undefined global counts too.
  local function all_modules()
    local modules = { "sfn.core", "sfn.curl" }
    for _, file in ipairs(lines_of("cd lua && find . -name '*.lua' | sort")) do
      modules[#modules + 1] = file:gsub("^%./", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    end
    return modules
  end

  it("finds every module to check", function()
    local modules = all_modules()
    assert.is_true(#modules >= 24, "only " .. #modules .. " modules")
    for _, name in ipairs { "sfn", "sfn.cli", "sfn.ngx_transport", "sfn.credentials.sts", "sfn.curl" } do
      local found = false
      for _, m in ipairs(modules) do
        found = found or m == name
      end
      assert.is_true(found, name)
    end
  end)

  for _, name in ipairs(all_modules()) do
    it("loads " .. name .. " without creating or reading globals", function()
      local script = [[
        local seen = {}
        local before = {}
        for k in pairs(_G) do before[k] = true end
        setmetatable(_G, {
          __newindex = function(t, k, v) seen[#seen + 1] = "set " .. tostring(k); rawset(t, k, v) end,
          __index = function(_, k) seen[#seen + 1] = "read " .. tostring(k) end,
        })
        require(]] .. ("%q"):format(name) .. [[)
        setmetatable(_G, nil)
        for k in pairs(_G) do
          if not before[k] then seen[#seen + 1] = "new " .. tostring(k) end
        end
        io.write(table.concat(seen, ", "), "|")
      ]]
      local out = support.capture(("LUA_PATH=%s LUA_CPATH=%s %s -e %s 2>&1"):format(
        support.quote(support.lua_path()), support.quote(support.lua_cpath()),
        support.quote(support.interpreter()), support.quote(script)))
      -- the interpreter's own lazy globals (LuaJIT's jit.* loaders, 5.1's
      -- arg) are not the module's
      assert.are.equal("|", out)
    end)
  end

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

  it("builds the rock's C modules with the Makefile, as every other build", function()
    local spec = read(rockspec_path())
    assert.truthy(spec:find('type = "make"', 1, true))
    assert.truthy(spec:find('build_target = "rock"', 1, true))
    assert.truthy(spec:find('["sfn.core"] = "build/rock/sfn/core.so"', 1, true))
    assert.truthy(spec:find('["sfn.curl"] = "build/rock/sfn/curl.so"', 1, true))
    assert.truthy(spec:find('["sfn-map-runs"] = "bin/sfn-map-runs"', 1, true))
    -- what the Makefile always adds, whatever CFLAGS luarocks passes
    local makefile = read("Makefile")
    assert.truthy(makefile:find("ALL_CFLAGS = -std=gnu99 -fPIC -fvisibility=hidden $(OPT) $(CFLAGS)", 1, true))
  end)

  it("loads libcurl only when a client sends through it", function()
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

  for _, module in ipairs { "core", "curl" } do
    it("exports only luaopen_sfn_" .. module .. " from sfn/" .. module .. ".so", function()
      local cpath = (os.getenv("SFN_CPATH") or "build/?.so"):gsub("%?", "sfn/" .. module)
      local symbols = lines_of("nm -D --defined-only " .. cpath .. " | awk '{print $3}' | grep -v '^_'")
      assert.are.same({ "luaopen_sfn_" .. module }, symbols)
    end)
  end
end)

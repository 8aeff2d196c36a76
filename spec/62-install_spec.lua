-- `make install` into a scratch prefix, for the interpreter running the
-- suite (so lua5.4 and luajit, and the others, each install and run their
-- own): the installed CLI names that interpreter on its first line, loads the
-- modules it installed without LUA_PATH or LUA_CPATH, and lists Map Runs from
-- the stand-in; the man page is installed. Then bin/sfn-map-runs from a
-- checkout: it finds the build for its interpreter, runs under another
-- interpreter that has one, or names the `make` to run.
local standin = require "standin"
local support = require "support"

local quote, capture, read_file = support.quote, support.capture, support.read_file

local ROOT = capture("pwd"):match("[^\n]+")
local KNOWN = { ["lua5.4"] = "build", luajit = "build/luajit", ["lua5.1"] = "build/lua5.1",
  ["lua5.2"] = "build/lua5.2", ["lua5.3"] = "build/lua5.3" }

-- make's name for the interpreter running busted, nil when it is not one
-- of the five (then the install is not this run's to check).
local function make_lua()
  local name = support.interpreter():match("([^/]+)$")
  if name == "lua" then
    name = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
  end
  return KNOWN[name] and name or nil
end

local LUA = make_lua()
-- Under a sanitizer or another build (SFN_CPATH), the install would copy a
-- build this run does not test: only the plain build of each interpreter.
local PLAIN = LUA and (os.getenv("SFN_CPATH") or "build/?.so") == KNOWN[LUA] .. "/?.so"
  and not os.getenv("LD_PRELOAD")

local function on_path(name)
  return support.run("command -v " .. name .. " >/dev/null 2>&1")
end

-- Children get a clean environment: no make flags from `make test-one`, no
-- Lua paths, no AWS configuration but the stand-in's.
local function clean_env(extra)
  local parts = { "env -i", "PATH=" .. quote(os.getenv("PATH") or "/usr/bin:/bin"), "HOME=/nonexistent",
    "AWS_CONFIG_FILE=/nonexistent/config", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/credentials",
    "AWS_EC2_METADATA_DISABLED=true", "NO_PROXY=127.0.0.1,localhost" }
  for k, v in pairs(extra or {}) do
    parts[#parts + 1] = quote(k .. "=" .. v)
  end
  return table.concat(parts, " ")
end

-- Runs a shell line; returns status, stdout, stderr.
local function run(line, dir)
  local out, err = dir .. "/stdout", dir .. "/stderr"
  local status = tonumber(capture(line .. " >" .. quote(out) .. " 2>" .. quote(err) .. " </dev/null; echo $?")
    :match("(%d+)%s*$"))
  return status, read_file(out) or "", read_file(err) or ""
end

local function count_runs(json)
  local n = 0
  for _ in json:gmatch('"mapRunArn":') do
    n = n + 1
  end
  return n
end

describe("make install", function()
  local s, prefix

  setup(function()
    s = standin.start {}
    prefix = support.tmpdir("sfn-install")
  end)

  teardown(function()
    if s then
      s:stop()
    end
    if prefix and prefix:match("^/.+sfn%-install") then
      os.execute("rm -rf " .. quote(prefix))
    end
  end)

  local function aws_env()
    local c = s.credentials[1]
    return { AWS_ACCESS_KEY_ID = c.access_key_id, AWS_SECRET_ACCESS_KEY = c.secret_access_key,
      AWS_REGION = s.region }
  end

  it("installs a CLI for this interpreter that lists Map Runs from the stand-in", function()
    if not PLAIN then
      pending("not a plain build of one of the five interpreters")
      return
    end
    local status, out, err = run("cd " .. quote(ROOT) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s install LUA="
      .. LUA .. " INSTALL_TOP=" .. quote(prefix), prefix)
    assert.are.equal(0, status, "make install failed:\n" .. out .. err)

    local cli = prefix .. "/bin/sfn-map-runs"
    local first = (read_file(cli) or ""):match("^[^\n]*")
    local want = capture("command -v " .. LUA):match("[^\n]+")
    assert.are.equal("#!" .. want, first)
    assert.truthy(read_file(prefix .. "/share/man/man1/sfn-map-runs.1"):find(".TH SFN-MAP-RUNS 1", 1, true))
    local version_dir = LUA == "luajit" and "5.1" or LUA:match("%d+%.%d+")
    assert.truthy(read_file(prefix .. "/lib/lua/" .. version_dir .. "/sfn/core.so"))
    assert.truthy(read_file(prefix .. "/lib/lua/" .. version_dir .. "/sfn/curl.so"))
    assert.truthy(read_file(prefix .. "/share/lua/" .. version_dir .. "/sfn/credentials/sts.lua"))

    -- run as a command (the kernel reads the first line), from another directory
    status, out, err = run("cd / && " .. clean_env() .. " " .. quote(cli) .. " --version", prefix)
    assert.are.equal(0, status, err)
    local expect = LUA == "luajit" and "LuaJIT" or ("Lua " .. version_dir)
    assert.truthy(out:match("^sfn%-map%-runs %d+%.%d+%.%d+ %(") and out:find("(" .. expect, 1, true), out)

    status, out, err = run("cd / && " .. clean_env(aws_env()) .. " " .. quote(cli) .. " "
      .. quote(s:arn("runs-25")) .. " --endpoint " .. quote(s.url), prefix)
    assert.are.equal(0, status, err)
    assert.are.equal(25, count_runs(out))

    status, out, err = run("cd / && " .. clean_env(aws_env()) .. " " .. quote(cli) .. " "
      .. quote(s:arn("missing")) .. " --endpoint " .. quote(s.url), prefix)
    assert.are.equal(1, status)
    assert.are.equal("", out)
    assert.truthy(err:find("ExecutionDoesNotExist", 1, true), err)

    status, out, err = run("cd / && " .. clean_env() .. " " .. quote(cli) .. " --max-items", prefix)
    assert.are.equal(2, status)
    assert.are.equal("", out)
    assert.truthy(err ~= "")

    -- uninstall takes every file back out
    status, out, err = run("cd " .. quote(ROOT) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s uninstall LUA="
      .. LUA .. " INSTALL_TOP=" .. quote(prefix), prefix)
    assert.are.equal(0, status, out .. err)
    assert.are.equal("", capture("find " .. quote(prefix) .. " -type f ! -name stdout ! -name stderr"))
  end)

  it("refuses an interpreter the Makefile does not know", function()
    local status, out, err = run("cd " .. quote(ROOT) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -n LUA=lua9.9",
      prefix)
    assert.are_not.equal(0, status)
    assert.are.equal("", out)
    assert.truthy(err:find("LUA=lua9.9 is not an interpreter this Makefile knows", 1, true), err)
  end)
end)

describe("bin/sfn-map-runs from a checkout", function()
  local tmp

  setup(function()
    tmp = support.tmpdir("sfn-checkout")
  end)

  teardown(function()
    if tmp and tmp:match("^/.+sfn%-checkout") then
      os.execute("rm -rf " .. quote(tmp))
    end
  end)

  -- A checkout with lua/, bin/, a Makefile and links to the given builds.
  local function fake_checkout(name, builds)
    local root = tmp .. "/" .. name
    assert(support.run("mkdir -p " .. quote(root) .. " && cp -R " .. quote(ROOT .. "/lua") .. " " .. quote(ROOT .. "/bin")
      .. " " .. quote(ROOT .. "/Makefile") .. " " .. quote(root)))
    for _, lua in ipairs(builds) do
      local dir = root .. "/" .. KNOWN[lua] .. "/sfn"
      assert(support.run("mkdir -p " .. quote(dir) .. " && ln -s " .. quote(ROOT .. "/" .. KNOWN[lua] .. "/sfn/core.so")
        .. " " .. quote(ROOT .. "/" .. KNOWN[lua] .. "/sfn/curl.so") .. " " .. quote(dir)))
    end
    return root
  end

  local function built(lua)
    return read_file(ROOT .. "/" .. KNOWN[lua] .. "/sfn/core.so") and read_file(ROOT .. "/" .. KNOWN[lua]
      .. "/sfn/curl.so")
  end

  it("loads the build of the interpreter running it, with no LUA_PATH or LUA_CPATH", function()
    if not PLAIN then
      pending("not a plain build of one of the five interpreters")
      return
    end
    local root = fake_checkout("own", { LUA })
    local status, out, err = run("cd " .. quote(root) .. " && " .. clean_env() .. " " .. LUA .. " bin/sfn-map-runs --version",
      tmp)
    assert.are.equal(0, status, err)
    assert.truthy(out:find(LUA == "luajit" and "(LuaJIT" or ("(Lua " .. LUA:match("%d+%.%d+")), 1, true), out)
  end)

  it("says which make to run when no build exists", function()
    local root = fake_checkout("none", {})
    local status, out, err = run(clean_env() .. " " .. support.interpreter() .. " " .. quote(root .. "/bin/sfn-map-runs")
      .. " --version", tmp)
    assert.are.equal(1, status)
    assert.are.equal("", out)
    local me = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local make = "make -C '" .. root .. "'" .. (me == "lua5.4" and "" or (" LUA=" .. me))
    assert.truthy(err:find("no build of sfn for " .. me, 1, true), err)
    assert.truthy(err:find("`" .. make .. "`", 1, true), err)
  end)

  it("runs under an interpreter that has a build when its own has none", function()
    local other = LUA == "lua5.4" and "lua5.1" or "lua5.4"
    local me = type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    if other == me or not built(other) or not on_path(other) then
      pending("needs a build for " .. other)
      return
    end
    local root = fake_checkout("other", { other })
    local status, out, err = run(clean_env() .. " " .. support.interpreter() .. " " .. quote(root .. "/bin/sfn-map-runs")
      .. " --version", tmp)
    assert.are.equal(0, status, err)
    assert.truthy(out:find("(Lua " .. other:match("%d+%.%d+"), 1, true), out)
    -- and the exit status comes through
    status, out = run(clean_env() .. " " .. support.interpreter() .. " " .. quote(root .. "/bin/sfn-map-runs")
      .. " --max-items", tmp)
    assert.are.equal(2, status)
    assert.are.equal("", out)
  end)
end)

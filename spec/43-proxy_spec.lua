-- HTTP_PROXY / NO_PROXY are honoured (libcurl reads them): a client in a
-- child process, with the proxy variables set, goes through a loopback
-- forwarding proxy, or around it when NO_PROXY names the host.
local standin = require "standin"
local support = require "support"

local server, proxy_pid, dir

local read = support.read_file

local function proxied_count()
  return tonumber(read(dir .. "/count") or "0")
end

-- Runs one list_map_runs in a child interpreter with the given environment.
local function run_child(env)
  local interpreter = arg and arg[-1] or "lua5.4"
  local script = ([[
    local sfn = require "sfn"
    local c = sfn.new { region = "us-east-1", endpoint = %q, max_attempts = 1,
      credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } }
    io.write(#c:list_map_runs({ executionArn = %q }).mapRuns)
  ]]):format(server.url, server:arn("runs-4"))
  local command = ("env -u NO_PROXY -u no_proxy -u HTTP_PROXY -u http_proxy %s LUA_PATH='%s' LUA_CPATH=%q %s -e %q 2>&1")
    :format(env, support.lua_path(), support.lua_cpath(), interpreter, script)
  return support.capture(command)
end

setup(function()
  server = standin.start {}
  dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local handle = assert(io.popen(("python3 spec/fakes/proxy.py --port-file %s/port --count-file %s/count & echo $!")
    :format(dir, dir)))
  proxy_pid = handle:read("*l")
  handle:close()
  support.wait_for_file(dir .. "/port", 100, 0.05)
end)

teardown(function()
  if proxy_pid then
    os.execute("kill " .. proxy_pid .. " 2>/dev/null")
  end
  if server then
    server:stop()
  end
  if dir then
    os.execute("rm -rf " .. dir)
  end
end)

describe("proxies", function()
  it("go through http_proxy", function()
    local proxy = "http://127.0.0.1:" .. read(dir .. "/port")
    assert.are.equal("4", run_child("http_proxy=" .. proxy))
    assert.are.equal(1, proxied_count())
  end)

  it("go around it for hosts in NO_PROXY", function()
    local before = proxied_count()
    local proxy = "http://127.0.0.1:" .. read(dir .. "/port")
    assert.are.equal("4", run_child("http_proxy=" .. proxy .. " NO_PROXY=127.0.0.1"))
    assert.are.equal(before, proxied_count())
  end)
end)

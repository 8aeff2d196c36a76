-- HTTP_PROXY / NO_PROXY are honoured (libcurl reads them): a client in a
-- child process, with the proxy variables set, goes through a loopback
-- forwarding proxy, or around it when NO_PROXY names the host.
local standin = require "standin"

local server, proxy_pid, dir

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

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
  local command = ("env -u NO_PROXY -u no_proxy -u HTTP_PROXY -u http_proxy %s LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH=%q %s -e %q 2>&1")
    :format(env, (os.getenv("SFN_CPATH") or "build/?.so") .. ";;", interpreter, script)
  local handle = assert(io.popen(command))
  local out = handle:read("*a")
  handle:close()
  return out
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
  for _ = 1, 100 do
    if read(dir .. "/port") then
      break
    end
    os.execute("sleep 0.05")
  end
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

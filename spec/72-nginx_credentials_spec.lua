-- Credentials under OpenResty, for real: Debian's nginx with
-- libnginx-mod-http-lua, loopback fakes of the container credentials
-- endpoint and of IMDSv2 that stall every answer 200 ms and log every
-- request, and the ListMapRuns stand-in checking signatures.
--
-- It proves: 20 concurrent requests, each making its client, fetch
-- credentials once (the per-worker cache and the single flight over
-- cosockets) and do not serialise; a burst on one client whose credentials
-- must be refreshed refreshes once; with `shared_dict`, two workers fetch
-- once between them.
--
-- Set SFN_SKIP_NGINX=1 to skip it; SFN_NGINX_LUA_ROOT=DIR loads lua/ from
-- another checkout (to measure an older version).
local standin = require "standin"
local support = require "support"
local fakes = require "fakes.fakes"

local NGINX = os.getenv("NGINX") or "/usr/sbin/nginx"
local MODULES = os.getenv("NGINX_MODULES") or "/usr/lib/nginx/modules"
local BURST = 20
local DELAY = "0.2"

local quote, capture, run = support.quote, support.capture, support.run
local read_file, write_file, sleep = support.read_file, support.write_file, support.sleep
local CLEAN_ENV = "env -u LD_PRELOAD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() [ZX]")
end

local function free_port()
  local out = capture("python3 -c 'import socket; s=socket.socket(); "
    .. [[s.bind(("127.0.0.1",0)); print(s.getsockname()[1])']])
  return assert(tonumber(out:match("%d+")), "no free port: " .. out)
end

local function now_ms()
  return tonumber(capture("date +%s%N"):match("%d+")) / 1e6
end

-- The nginx under test ---------------------------------------------------------

local nginx = {}

function nginx.log_tail()
  return "--- error.log (tail) ---\n" .. (read_file(nginx.prefix .. "/error.log") or ""):sub(-3000)
end

function nginx.get(path)
  return capture("curl -sS --noproxy '*' --max-time 30 " .. quote(nginx.base .. path) .. " 2>&1")
end

function nginx.start(vars)
  nginx.prefix = support.tmpdir("sfn-nginx")
  assert(run("chmod 755 " .. quote(nginx.prefix) .. " && mkdir -p " .. quote(nginx.prefix .. "/tmp")))
  vars.PREFIX = nginx.prefix
  local conf = assert(read_file("spec/nginx/credentials.conf.template")):gsub("@([%u_]+)@", function(name)
    return tostring(assert(vars[name], "credentials.conf.template: no value for @" .. name .. "@"))
  end)
  write_file(nginx.prefix .. "/nginx.conf", conf)
  local cmd = CLEAN_ENV .. quote(NGINX) .. " -p " .. quote(nginx.prefix .. "/") .. " -c "
    .. quote(nginx.prefix .. "/nginx.conf") .. " -e " .. quote(nginx.prefix .. "/error.log")
  local test = capture(cmd .. " -t 2>&1")
  assert(test:find("test is successful", 1, true), "nginx -t failed:\n" .. test)
  nginx.pid = tonumber(capture(cmd .. " >" .. quote(nginx.prefix .. "/stdout.log") .. " 2>&1 </dev/null & echo $!")
    :match("%d+"))
  nginx.base = "http://127.0.0.1:" .. vars.PORT
  for _ = 1, 200 do
    if not alive(nginx.pid) then break end
    if nginx.get("/ping"):match("^pong") then return end
    sleep(0.05)
  end
  error("nginx did not come up\n" .. nginx.log_tail())
end

function nginx.stop()
  if nginx.pid and alive(nginx.pid) then
    run("kill -QUIT " .. nginx.pid)
    for _ = 1, 100 do
      if not alive(nginx.pid) then break end
      sleep(0.05)
    end
    if alive(nginx.pid) then run("kill -KILL " .. nginx.pid) end
  end
  nginx.pid = nil
  if nginx.prefix and not os.getenv("SFN_KEEP_NGINX") then run("rm -rf " .. quote(nginx.prefix)) end
end

-- Every url at once: wall time in ms and the answers, one per line.
local function burst(path, n)
  local cmd = { "curl", "-sS", "--no-progress-meter", "--noproxy", quote("*"), "--max-time", "30", "--parallel",
    "--parallel-immediate", "--parallel-max", tostring(n) }
  for _ = 1, n do cmd[#cmd + 1] = quote(nginx.base .. path) end
  local start = now_ms()
  local out = capture(table.concat(cmd, " ") .. " 2>&1")
  return now_ms() - start, out
end

local function answers(out)
  local ok, pids, errs = 0, {}, {}
  for line in out:gmatch("[^\n]+") do
    local pid = line:match("^ok (%d+)")
    if pid then
      ok, pids[pid] = ok + 1, true
    else
      errs[#errs + 1] = line
    end
  end
  local workers = 0
  for _ in pairs(pids) do workers = workers + 1 end
  return ok, workers, errs
end

-- Fixtures --------------------------------------------------------------------

local plain, root, cpath, lua_root

local function count(server, pred)
  local n = 0
  for _, r in ipairs(server.requests()) do
    if pred(r) then n = n + 1 end
  end
  return n
end

-- nginx against `fake` with these env directives
local function start(env, opts)
  opts = opts or {}
  local lines = {}
  for _, kv in ipairs(env) do lines[#lines + 1] = "env " .. kv .. ";" end
  nginx.start {
    MODULES = MODULES,
    USER = run("test $(id -u) -eq 0") and "user root root;" or "",
    WORKERS = opts.workers or 1,
    REUSEPORT = (opts.workers or 1) > 1 and "reuseport" or "",
    ENV = table.concat(lines, "\n"),
    ROOT = root,
    LUA_ROOT = lua_root,
    CPATH = cpath,
    PORT = free_port(),
    ENDPOINT = plain.url,
    ARN = plain:arn("runs-3"),
    SHARED_DICT = opts.shared_dict or "",
  }
end

local skip = os.getenv("SFN_SKIP_NGINX")

setup(function()
  if skip then return end
  assert(run("test -x " .. quote(NGINX)), NGINX .. " is missing: apt-get install nginx libnginx-mod-http-lua")
  root = capture("pwd"):match("[^\r\n]+")
  lua_root = os.getenv("SFN_NGINX_LUA_ROOT") or root
  cpath = os.getenv("SFN_NGINX_CPATH")
  if not cpath then
    local out = capture(CLEAN_ENV .. "make -s LUA=luajit build 2>&1; echo rc=$?")
    assert(out:match("rc=0%s*$"), "make LUA=luajit failed:\n" .. out)
    cpath = root .. "/build/luajit/?.so"
  end
  plain = standin.start {
    credentials = { "ASIAFAKEROLEKEY:fake-role-secret-SHOULD-NOT-LEAK:fake-role-session-token" },
  }
end)

teardown(function()
  nginx.stop()
  if plain then plain:stop() end
end)

describe("credentials under OpenResty", function()
  local fake
  before_each(function()
    if skip then pending("SFN_SKIP_NGINX is set") end
  end)
  after_each(function()
    nginx.stop()
    if fake then fake.stop() end
    fake = nil
  end)

  local function container_env(extra)
    local env = { "AWS_EC2_METADATA_DISABLED=true", "AWS_CONTAINER_CREDENTIALS_FULL_URI=" .. fake.url .. "/creds" }
    for _, e in ipairs(extra or {}) do env[#env + 1] = e end
    return env
  end

  it("container: 20 concurrent requests, a client each, one fetch", function()
    if skip then return end
    fake = fakes.start("container", { "--delay", DELAY })
    start(container_env())
    local ms, out = burst("/call?client=new", BURST)
    local ok, _, errs = answers(out)
    local fetches = #fake.requests()
    print(("\n  container burst: %d/%d ok in %.0f ms, %d credential fetches"):format(ok, BURST, ms, fetches))
    assert.equal(BURST, ok, table.concat(errs, "\n") .. "\n" .. nginx.log_tail())
    assert.equal(1, fetches)
    assert.is_true(ms < 1500, ("took %.0f ms"):format(ms))
    -- and later requests fetch nothing
    assert.truthy(nginx.get("/call?client=new"):match("^ok"))
    assert.equal(1, #fake.requests())
  end)

  it("IMDSv2: 20 concurrent requests, one token, one role, one credentials fetch", function()
    if skip then return end
    fake = fakes.start("imds", { "--delay", DELAY })
    start { "AWS_EC2_METADATA_DISABLED=false", "AWS_EC2_METADATA_SERVICE_ENDPOINT=" .. fake.url .. "/" }
    local ms, out = burst("/call?client=new", BURST)
    local ok, _, errs = answers(out)
    local r = fake.requests()
    local rounds = count(fake, function(q) return q.path:match("/security%-credentials/.") ~= nil end)
    print(("\n  IMDS burst: %d/%d ok in %.0f ms, %d requests, %d credential fetch rounds"):format(
      ok, BURST, ms, #r, rounds))
    assert.equal(BURST, ok, table.concat(errs, "\n") .. "\n" .. nginx.log_tail())
    assert.equal(1, rounds)
    assert.equal(3, #r)
    assert.is_true(ms < 1500, ("took %.0f ms"):format(ms))
  end)

  it("a failing fetch fails every waiter with its error, once", function()
    if skip then return end
    fake = fakes.start("container", { "--delay", DELAY, "--fail", "1000" })
    start(container_env())
    local _, out = burst("/call?client=new", BURST)
    local failed = 0
    for line in out:gmatch("[^\n]+") do
      if line:match("^error %d+ .*CredentialsError.*failed after 3 attempts") then failed = failed + 1 end
    end
    assert.equal(BURST, failed, out)
    assert.equal(3, #fake.requests()) -- one fetch: its 3 attempts
  end)

  it("a burst on one client whose credentials are due for refresh refreshes once", function()
    if skip then return end
    -- the first credentials expire in 5 minutes: inside the mandatory window
    fake = fakes.start("container", { "--delay", DELAY, "--short-first", "300" })
    start(container_env())
    assert.truthy(nginx.get("/call?client=shared"):match("^ok"), nginx.log_tail())
    assert.equal(1, #fake.requests())
    local ms, out = burst("/call?client=shared", BURST)
    local ok, _, errs = answers(out)
    print(("\n  refresh burst: %d/%d ok in %.0f ms, %d credential fetches in all"):format(
      ok, BURST, ms, #fake.requests()))
    assert.equal(BURST, ok, table.concat(errs, "\n") .. "\n" .. nginx.log_tail())
    assert.equal(2, #fake.requests())
    assert.is_true(ms < 1500, ("took %.0f ms"):format(ms))
  end)

  it("shared_dict: two workers fetch once between them", function()
    if skip then return end
    fake = fakes.start("container", { "--delay", DELAY })
    start(container_env(), { workers = 2, shared_dict = "sfn_credentials" })
    local ms, out = burst("/call?client=new", BURST)
    local ok, workers, errs = answers(out)
    print(("\n  shared_dict burst: %d/%d ok on %d workers in %.0f ms, %d credential fetches"):format(
      ok, BURST, workers, ms, #fake.requests()))
    assert.equal(BURST, ok, table.concat(errs, "\n") .. "\n" .. nginx.log_tail())
    assert.equal(2, workers)
    assert.equal(1, #fake.requests())
  end)

  it("without shared_dict, two workers fetch once each", function()
    if skip then return end
    fake = fakes.start("container", { "--delay", DELAY })
    start(container_env(), { workers = 2 })
    local _, out = burst("/call?client=new", BURST)
    local ok, workers = answers(out)
    assert.equal(BURST, ok, out)
    assert.equal(2, workers)
    assert.equal(2, #fake.requests())
  end)
end)

-- OpenResty, for real: Debian's nginx with libnginx-mod-http-lua (ngx_lua on
-- OpenResty's LuaJIT) loads sfn, and handlers in spec/nginx/ list Map Runs
-- from the stand-in. This spec only drives nginx over HTTP with the curl CLI,
-- so the interpreter running busted does not matter; nginx always loads the
-- LuaJIT build (build/luajit, made here with `make LUA=luajit`).
--
-- It proves: the handler's JSON equals what the plain-Lua client returns
-- (pagination and every error code); cosocket calls do not block the one
-- worker while libcurl calls serialise; pooled connections are reused; HTTPS
-- verifies against lua_ssl_trusted_certificate; phases without cosockets
-- fall back to libcurl.
--
-- Set SFN_SKIP_NGINX=1 to skip it on a machine without nginx (CI never does).
local sfn = require "sfn"
local standin = require "standin"
local support = require "support"
local cjson = require "cjson"
local json = dofile("spec/nginx/sfn_json.lua")

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"
local NGINX = os.getenv("NGINX") or "/usr/sbin/nginx"
local MODULES = os.getenv("NGINX_MODULES") or "/usr/lib/nginx/modules"

-- Plumbing ------------------------------------------------------------------

local quote, capture, run = support.quote, support.capture, support.run
local read_file, write_file, sleep = support.read_file, support.write_file, support.sleep

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if stat then
    return not stat:match("^%d+ %b() [ZX]")
  end
  return false
end

-- Children never inherit a sanitizer runtime or a parent make's flags.
local CLEAN_ENV = "env -u LD_PRELOAD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "

local function free_port()
  local out = capture([[python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])']])
  return assert(tonumber(out:match("%d+")), "no free port: " .. out)
end

local function now_ms()
  return tonumber(capture("date +%s%N"):match("%d+")) / 1e6
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c)
    return ("%%%02X"):format(c:byte())
  end))
end

local function query(args)
  local keys = {}
  for k in pairs(args or {}) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(args[k])
  end
  return table.concat(parts, "&")
end

-- The nginx under test -------------------------------------------------------

local nginx = {}

function nginx.url(path, args)
  local q = query(args)
  return nginx.base .. path .. (q ~= "" and ("?" .. q) or "")
end

-- GET -> status, body
function nginx.get(path, args)
  local out = capture("curl -sS -g --noproxy '*' --max-time 60 -w '\\n%{http_code}' "
    .. quote(nginx.url(path, args)) .. " 2>&1")
  local body, code = out:match("^(.*)\n(%d%d%d)$")
  return tonumber(code), body or out
end

-- GET -> decoded JSON, status
function nginx.json(path, args)
  local code, body = nginx.get(path, args)
  local ok, doc = pcall(cjson.decode, body or "")
  if not ok or type(doc) ~= "table" then
    error(("nginx %s: not JSON (HTTP %s): %s\n%s"):format(path, tostring(code), tostring(body), nginx.log_tail()), 2)
  end
  return doc, code
end

function nginx.log_tail()
  local log = read_file(nginx.prefix .. "/error.log") or ""
  return "--- error.log (tail) ---\n" .. log:sub(-3000)
end

function nginx.start(vars)
  nginx.prefix = support.tmpdir("sfn-nginx")
  assert(nginx.prefix and nginx.prefix ~= "", "mktemp -d failed")
  -- workers may run as another user: let them into the prefix
  assert(run("chmod 755 " .. quote(nginx.prefix) .. " && mkdir -p " .. quote(nginx.prefix .. "/tmp")))
  vars.PREFIX = nginx.prefix
  local template = assert(read_file("spec/nginx/nginx.conf.template"))
  local conf = template:gsub("@([%u_]+)@", function(name)
    local v = vars[name]
    if v == nil then
      error("nginx.conf.template: no value for @" .. name .. "@")
    end
    return tostring(v)
  end)
  write_file(nginx.prefix .. "/nginx.conf", conf)
  local cmd = CLEAN_ENV .. quote(NGINX) .. " -p " .. quote(nginx.prefix .. "/") .. " -c "
    .. quote(nginx.prefix .. "/nginx.conf") .. " -e " .. quote(nginx.prefix .. "/error.log")
  local test = capture(cmd .. " -t 2>&1")
  if not test:find("test is successful", 1, true) then
    error("nginx -t failed:\n" .. test)
  end
  nginx.pid = tonumber(capture(cmd .. " >" .. quote(nginx.prefix .. "/stdout.log") .. " 2>&1 </dev/null & echo $!")
    :match("%d+"))
  assert(nginx.pid, "nginx did not start")
  -- Should this process die without its teardown, a watcher stops nginx.
  local own = tonumber(capture("echo $PPID"):match("%d+"))
  if own then
    nginx.watcher = tonumber(capture(("sh -c 'while kill -0 %d 2>/dev/null; do sleep 0.5; done; "
      .. "kill -QUIT %d 2>/dev/null; sleep 2; rm -rf %s' >/dev/null 2>&1 </dev/null & echo $!")
      :format(own, nginx.pid, quote(nginx.prefix):gsub("'", "'\\''"))):match("%d+"))
  end
  nginx.base = "http://127.0.0.1:" .. vars.PORT
  for _ = 1, 200 do
    if not alive(nginx.pid) then
      break
    end
    local code, body = nginx.get("/ping")
    if code == 200 then
      local doc = cjson.decode(body)
      nginx.worker_pid = tonumber(doc.worker_pid)
      nginx.resty_http = doc.resty_http
      return
    end
    sleep(0.05)
  end
  error("nginx did not come up\n" .. nginx.log_tail())
end

function nginx.stop()
  if nginx.pid and alive(nginx.pid) then
    run("kill -QUIT " .. nginx.pid)
    for _ = 1, 100 do
      if not alive(nginx.pid) then
        break
      end
      sleep(0.05)
    end
    if alive(nginx.pid) then
      run("kill -KILL " .. nginx.pid)
    end
  end
  -- a worker left behind by a killed master
  if nginx.worker_pid and alive(nginx.worker_pid) then
    run("kill -KILL " .. nginx.worker_pid)
  end
  if nginx.watcher and alive(nginx.watcher) then
    run("kill -TERM " .. nginx.watcher)
  end
  nginx.pid, nginx.worker_pid, nginx.watcher = nil, nil, nil
  if nginx.prefix and not os.getenv("SFN_KEEP_NGINX") then
    run("rm -rf " .. quote(nginx.prefix))
  end
end

-- Runs `curl` on every url at once (--parallel) and returns the wall time in
-- milliseconds and the bodies, concatenated.
local function parallel_get(urls)
  local cmd = { "curl", "-sS", "-g", "--noproxy", quote("*"), "--max-time", "60", "--parallel",
    "--parallel-immediate", "--parallel-max", tostring(#urls) }
  for _, url in ipairs(urls) do
    cmd[#cmd + 1] = quote(url)
  end
  local start = now_ms()
  local out = capture(table.concat(cmd, " ") .. " 2>&1")
  return now_ms() - start, out
end

local function count(text, needle)
  local n, at = 0, 1
  while true do
    local i = text:find(needle, at, true)
    if not i then
      return n
    end
    n, at = n + 1, i + #needle
  end
end

-- Fixtures ------------------------------------------------------------------

local plain, tls, refused_port

local function local_client(opts)
  local o = {
    region = "us-east-1",
    endpoint = plain.url,
    credentials = { access_key_id = KEY, secret_access_key = SECRET },
    max_attempts = 3,
    timeout = 10,
    connect_timeout = 2,
    transport = "curl",
  }
  for k, v in pairs(opts or {}) do
    o[k] = v
  end
  return sfn.new(o)
end

-- The plain-Lua answer, shaped as the handler's.
local function local_list(args)
  local c = local_client {
    max_attempts = tonumber(args.max_attempts) or 3,
    timeout = tonumber(args.timeout) or 10,
  }
  local arn = args.arn:find(":", 1, true) and args.arn or (PREFIX .. args.arn)
  if args.op == "page" then
    local ok, page = pcall(c.list_map_runs, c, {
      executionArn = arn, maxResults = tonumber(args.max_results), nextToken = args.next_token,
    })
    return ok, page
  end
  local ok, runs, resume = pcall(c.all_map_runs, c, { executionArn = arn }, {
    max_items = tonumber(args.max_items), page_size = tonumber(args.page_size),
    starting_token = args.starting_token,
  })
  if not ok then
    return false, runs
  end
  return true, { runs = runs, resume_token = resume }
end

local function error_view(e, with_message)
  return {
    code = e.code, status = e.status, retryable = e.retryable, attempts = e.attempts,
    operation = e.operation, message = with_message and e.message or nil,
  }
end

setup(function()
  if os.getenv("SFN_SKIP_NGINX") then
    return
  end
  local ok, err = pcall(function()
    assert(run("test -x " .. quote(NGINX)), NGINX .. " is missing: apt-get install nginx libnginx-mod-http-lua")
    assert(run("test -f " .. quote(MODULES .. "/ngx_http_lua_module.so")),
      "ngx_http_lua_module.so is missing: apt-get install libnginx-mod-http-lua")
    local cpath = os.getenv("SFN_NGINX_CPATH")
    local root = capture("pwd"):match("[^\r\n]+")
    if not cpath then
      -- nginx runs LuaJIT: it needs the LuaJIT build, fresh
      local out = capture(CLEAN_ENV .. "make -s LUA=luajit build 2>&1; echo rc=$?")
      assert(out:match("rc=0%s*$"), "make LUA=luajit failed:\n" .. out)
      cpath = root .. "/build/luajit/?.so"
    end
    plain = standin.start { credentials = { KEY .. ":" .. SECRET } }
    tls = standin.start { credentials = { KEY .. ":" .. SECRET }, tls = true }
    refused_port = free_port()
    local port = free_port()
    nginx.start {
      MODULES = MODULES,
      USER = run("test $(id -u) -eq 0") and "user root root;" or "",
      ROOT = root,
      CPATH = cpath,
      PORT = port,
      CA_FILE = tls.ca_file,
      WRONG_CA_FILE = tls.other_ca_file,
      PLAIN_URL = plain.url,
      TLS_URL = "https://localhost:" .. tls.port,
      TLS_IP_URL = tls.url,
      TLS_CA_FILE = tls.ca_file,
      TLS_ON_PLAIN_URL = "https://localhost:" .. plain.port,
      REFUSED_URL = "http://127.0.0.1:" .. refused_port,
      KEY = KEY,
      SECRET = SECRET,
    }
  end)
  if not ok then
    nginx.stop()
    if tls then
      tls:stop()
    end
    if plain then
      plain:stop()
    end
    error(err, 0)
  end
end)

teardown(function()
  nginx.stop()
  if tls then
    tls:stop()
  end
  if plain then
    plain:stop()
  end
end)

local function skip_without_nginx()
  if os.getenv("SFN_SKIP_NGINX") then
    pending("SFN_SKIP_NGINX is set")
    return true
  end
end

-- Specs ---------------------------------------------------------------------

describe("OpenResty handlers", function()
  before_each(function()
    if plain then
      plain:config { fault = false, delay_ms = 0 }
    end
  end)

  it("load sfn under nginx's LuaJIT and pick cosockets in content_by_lua", function()
    if skip_without_nginx() then return end
    local doc = nginx.json("/runs", { arn = "runs-3" })
    assert.is_true(doc.ok, nginx.log_tail())
    assert.are.equal("content", doc.phase)
    assert.are.equal("ngx", doc.transport)
    assert.are.equal(3, doc.count)
  end)

  describe("return what the plain-Lua client returns", function()
    local cases = {
      { arn = "runs-250", page_size = 7 },
      { arn = "runs-250", page_size = 100 },
      { arn = "runs-25", max_items = 10, page_size = 7 },
      { arn = "runs-25", max_items = 30 },
      { arn = "runs-3" },
      { arn = "none" },
    }
    for _, transport in ipairs { "ngx", "curl" } do
      for _, case in ipairs(cases) do
        local args = { transport = transport }
        for k, v in pairs(case) do
          args[k] = v
        end
        it(("all Map Runs of %s %s over %s"):format(case.arn, json.encode(case), transport), function()
          if skip_without_nginx() then return end
          local doc = nginx.json("/runs", args)
          assert.is_true(doc.ok, json.encode(doc))
          assert.are.equal(transport, doc.transport)
          local ok, want = local_list(args)
          assert.is_true(ok, tostring(want))
          assert.are.equal(#want.runs, doc.count)
          assert.are.equal(json.encode(want.runs), json.encode(doc.runs))
          assert.are.equal(want.resume_token, doc.resume_token)
        end)
      end
    end

    it("with our own cosocket client and with lua-resty-http (when installed)", function()
      if skip_without_nginx() then return end
      local args = { arn = "runs-250", page_size = 7 }
      local ok, want = local_list(args)
      assert.is_true(ok)
      for _, transport in ipairs { "builtin", "resty" } do
        if transport == "resty" and not nginx.resty_http then
          break
        end
        args.transport = transport
        local doc = nginx.json("/runs", args)
        assert.is_true(doc.ok, json.encode(doc))
        assert.are.equal("function", doc.transport)
        assert.are.equal(json.encode(want.runs), json.encode(doc.runs))
      end
      if not nginx.resty_http then
        pending("lua-resty-http is not installed in nginx: only our own client was checked")
      end
    end)

    it("resumes after max_items with the handler's resume token", function()
      if skip_without_nginx() then return end
      local first = nginx.json("/runs", { arn = "runs-25", max_items = 10, page_size = 7 })
      assert.is_string(first.resume_token)
      local rest = nginx.json("/runs", { arn = "runs-25", starting_token = first.resume_token, page_size = 7 })
      assert.is_true(rest.ok, json.encode(rest))
      assert.are.equal(15, rest.count)
      local ok, want = local_list { arn = "runs-25", starting_token = first.resume_token, page_size = 7 }
      assert.is_true(ok)
      assert.are.equal(json.encode(want.runs), json.encode(rest.runs))
    end)

    it("one page, with nextToken and ResponseMetadata", function()
      if skip_without_nginx() then return end
      local args = { arn = "runs-30", op = "page", max_results = 7 }
      local doc = nginx.json("/runs", args)
      assert.is_true(doc.ok, json.encode(doc))
      local ok, want = local_list(args)
      assert.is_true(ok)
      assert.are.equal(json.encode(want.mapRuns), json.encode(doc.page.mapRuns))
      assert.are.equal(want.nextToken, doc.page.nextToken)
      assert.are.equal(200, doc.page.ResponseMetadata.HTTPStatusCode)
      assert.are.equal(0, doc.page.ResponseMetadata.RetryAttempts)
      assert.is_string(doc.page.ResponseMetadata.RequestId)
    end)

    it("retries a throttled call with ngx.sleep and then succeeds", function()
      if skip_without_nginx() then return end
      plain:reset()
      local doc = nginx.json("/runs", { arn = "throttle-2", op = "page", max_attempts = 3 })
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal(2, doc.page.ResponseMetadata.RetryAttempts)
      assert.are.equal(3, plain:stats().requests)
    end)
  end)

  describe("after the list: DescribeMapRun and ListExecutions over cosockets", function()
    local function plain_client()
      return local_client { max_attempts = 3, timeout = 10 }
    end
    local function strip(t)
      t.ResponseMetadata = nil
      return t
    end

    it("map_run_descriptions: what the plain-Lua client returns", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs", { op = "describe", arn = "runs-10", transport = "ngx" })
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("ngx", doc.transport)
      assert.are.equal(10, doc.count)
      local c, i = plain_client(), 0
      for d in c:map_run_descriptions { executionArn = PREFIX .. "runs-10" } do
        i = i + 1
        local got = doc.items[i]
        assert.are.equal(d.mapRunArn, got.mapRunArn)
        assert.are.equal(d.status, got.status)
        if d.status ~= "RUNNING" then -- a running Map Run's counts move with time
          assert.are.equal(json.encode(strip(d)), json.encode(got))
        end
      end
      assert.are.equal(10, i)
    end)

    it("executions: the same items and resume token, then the rest", function()
      if skip_without_nginx() then return end
      local c = plain_client()
      local failed_run = c:all_map_runs { executionArn = PREFIX .. "runs-10" }[5].mapRunArn
      local args = { op = "executions", map_run = failed_run, status_filter = "FAILED", max_items = 5,
        page_size = 2, transport = "ngx" }
      local doc = nginx.json("/runs", args)
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal(5, doc.count)
      local want, iterate, pager = {}, c:executions({ mapRunArn = failed_run, statusFilter = "FAILED" },
        { max_items = 5, page_size = 2 })
      for e in iterate, pager do
        want[#want + 1] = strip(e)
      end
      assert.are.equal(json.encode(want), json.encode(doc.items))
      assert.are.equal(pager.resume_token, doc.resume_token)
      args.max_items, args.starting_token = nil, doc.resume_token
      local rest = nginx.json("/runs", args)
      assert.is_true(rest.ok, json.encode(rest))
      local d = c:describe_map_run { mapRunArn = failed_run }
      assert.are.equal(d.itemCounts.failed, doc.count + rest.count)
      assert.is_nil(rest.resume_token)
      local one = nginx.json("/runs", { op = "describe_one", map_run = failed_run, transport = "ngx" })
      assert.is_true(one.ok, json.encode(one))
      assert.are.equal(json.encode(strip(d)), json.encode(one.description))
    end)

    it("the same errors, naming the operation", function()
      if skip_without_nginx() then return end
      local doc, status = nginx.json("/runs", { op = "describe_one", map_run = PREFIX .. "runs-3", transport = "ngx" })
      assert.are.equal(502, status)
      assert.are.equal("InvalidArn", doc.error.code)
      assert.are.equal("DescribeMapRun", doc.error.operation)
      doc = nginx.json("/runs", { op = "executions", map_run = PREFIX .. "runs-3", status_filter = "DONE",
        transport = "ngx" })
      assert.are.equal("ValidationError", doc.error.code)
      assert.are.equal("ListExecutions", doc.error.operation)
      assert.matches("statusFilter", doc.log)
    end)
  end)

  describe("report the same errors as the plain-Lua client", function()
    local service = {
      { arn = "missing", code = "ExecutionDoesNotExist" },
      { arn = "access-denied", code = "AccessDeniedException" },
      { arn = "validation", code = "ValidationException" },
      { arn = "throttle-forever", code = "ThrottlingException", max_attempts = 3 },
      { arn = "error-500", code = "InternalServerError", max_attempts = 2 },
      { arn = "error-503-html", code = "503" },
      { arn = "bad-shape", code = "ResponseError" },
      { arn = "truncated-json", code = "ResponseError" },
      { arn = "redirect", code = "301" },
      { arn = "arn:aws:states:us-east-1:123456789012:nope", code = "InvalidArn" },
    }
    for _, case in ipairs(service) do
      it(case.arn .. " -> " .. case.code, function()
        if skip_without_nginx() then return end
        local args = { arn = case.arn, op = "page", max_attempts = case.max_attempts or 1 }
        local doc, status = nginx.json("/runs", args)
        assert.are.equal(502, status)
        assert.is_false(doc.ok)
        assert.are.equal("ngx", doc.transport)
        local ok, want = local_list(args)
        assert.is_false(ok)
        assert.are.equal(case.code, want.code)
        assert.are.same(error_view(want, true), error_view(doc.error, true))
        assert.are.equal(type(want.request_id), type(doc.error.request_id))
        -- the line ngx.log wrote is the error's tostring
        assert.truthy(doc.log:find("ListMapRuns", 1, true))
        assert.truthy(doc.log:find(case.code, 1, true))
        assert.truthy(nginx.log_tail():find(doc.log, 1, true), "not in error.log: " .. doc.log)
      end)
    end

    it("InvalidToken for a tampered nextToken", function()
      if skip_without_nginx() then return end
      local first = nginx.json("/runs", { arn = "runs-30", op = "page", max_results = 5 })
      local token = first.page.nextToken
      local tampered = token:sub(1, 10) .. (token:sub(11, 11) == "A" and "B" or "A") .. token:sub(12)
      local args = { arn = "runs-30", op = "page", next_token = tampered, max_attempts = 1 }
      local doc = nginx.json("/runs", args)
      local ok, want = local_list(args)
      assert.is_false(ok)
      assert.are.equal("InvalidToken", doc.error.code)
      assert.are.same(error_view(want, true), error_view(doc.error, true))
    end)

    local faults = {
      { arn = "drop", code = "TransportError" },
      { arn = "truncated", code = "TransportError" },
      { arn = "reset-mid-body", code = "TransportError" },
      { arn = "hang", code = "TimeoutError", timeout = 1 },
      { arn = "drip", code = "TimeoutError", timeout = 1 },
      { arn = "huge", code = "ResponseError" },
    }
    for _, case in ipairs(faults) do
      it(case.arn .. " -> " .. case.code .. " (transport fault)", function()
        if skip_without_nginx() then return end
        local args = { arn = case.arn, op = "page", max_attempts = 1, timeout = case.timeout }
        local doc = nginx.json("/runs", args)
        assert.is_false(doc.ok)
        local ok, want = local_list(args)
        assert.is_false(ok)
        assert.are.equal(case.code, want.code)
        assert.are.same(error_view(want), error_view(doc.error))
        if case.code == "ResponseError" then
          assert.truthy(doc.error.message:find("larger than", 1, true), doc.error.message)
        end
      end)
    end

    it("a refused connection is a retryable TransportError", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs", { server = "refused", op = "page", max_attempts = 1 })
      assert.are.equal("TransportError", doc.error.code)
      assert.is_true(doc.error.retryable)
      assert.is_nil(doc.error.status)
    end)
  end)

  describe("do not block the worker", function()
    local function fire(transport)
      local urls = {}
      for i = 1, 20 do
        urls[i] = nginx.url("/runs", { arn = "slow-200", op = "page", transport = transport, n = i })
      end
      local ms, out = parallel_get(urls)
      assert.are.equal(20, count(out, '"ok":true'), out)
      assert.are.equal(20, count(out, '"transport":"' .. transport .. '"'), out)
      return ms
    end

    it("20 concurrent calls, 200 ms each: ngx overlaps them, curl serialises them", function()
      if skip_without_nginx() then return end
      fire("ngx") -- warm up the pool and the handler
      local ngx_ms = fire("ngx")
      local curl_ms = fire("curl")
      print(("\n  nginx, 1 worker, 20 concurrent ListMapRuns, stand-in replies after 200 ms:"
        .. " ngx transport %.0f ms, curl transport %.0f ms"):format(ngx_ms, curl_ms))
      assert.is_true(ngx_ms < 2000, ("ngx transport took %.0f ms"):format(ngx_ms))
      assert.is_true(curl_ms > 3000, ("curl transport took only %.0f ms"):format(curl_ms))
    end)
  end)

  it("reuse pooled connections: 100 sequential calls, 1 or 2 connections", function()
    if skip_without_nginx() then return end
    nginx.get("/runs", { arn = "runs-3", op = "page" })
    plain:reset()
    local urls = {}
    for i = 1, 100 do
      urls[i] = quote(nginx.url("/runs", { arn = "runs-3", op = "page", transport = "ngx", n = i }))
    end
    local out = capture("curl -sS -g --noproxy '*' --max-time 60 " .. table.concat(urls, " ") .. " 2>&1")
    assert.are.equal(100, count(out, '"ok":true'), out)
    local stats = plain:stats()
    print(("\n  100 sequential handler calls over cosockets: %d stand-in connection(s)"):format(stats.connections))
    assert.are.equal(100, stats.requests)
    assert.is_true(stats.connections >= 1 and stats.connections <= 2, "connections: " .. stats.connections)
  end)

  describe("over HTTPS", function()
    it("verify the stand-in against lua_ssl_trusted_certificate", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs", { server = "tls", arn = "runs-25", page_size = 7 })
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("ngx", doc.transport)
      assert.are.equal(25, doc.count)
    end)

    it("reuse the TLS connection", function()
      if skip_without_nginx() then return end
      nginx.get("/runs", { server = "tls", arn = "runs-3", op = "page" })
      tls:reset()
      for _ = 1, 5 do
        assert.is_true(nginx.json("/runs", { server = "tls", arn = "runs-3", op = "page" }).ok)
      end
      assert.are.equal(1, tls:stats().connections)
    end)

    it("fail with a TransportError when nginx trusts another CA", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs-wrong-ca", { server = "tls", arn = "runs-3", op = "page", max_attempts = 3 })
      assert.is_false(doc.ok)
      assert.are.equal("ngx", doc.transport)
      assert.are.equal("TransportError", doc.error.code)
      assert.is_false(doc.error.retryable)
      assert.are.equal(1, doc.error.attempts, doc.log) -- not retried
      assert.truthy(doc.log:find("TransportError", 1, true))
    end)

    it("fail host verification for an IP address endpoint (ngx_lua checks DNS names only)", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs", { server = "tls-ip", arn = "runs-3", op = "page", max_attempts = 3 })
      assert.is_false(doc.ok)
      assert.are.equal("TransportError", doc.error.code)
      assert.is_false(doc.error.retryable)
      assert.truthy(doc.error.message:find("certificate host mismatch", 1, true), doc.error.message)
    end)

    it("fail with a TransportError against a plain HTTP server", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs", { server = "tls-on-plain", arn = "runs-3", op = "page", max_attempts = 1 })
      assert.is_false(doc.ok)
      assert.are.equal("TransportError", doc.error.code)
    end)

    it("and so does the curl transport in nginx, which reads ca_file", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs-wrong-ca", { server = "tls", transport = "curl", arn = "runs-3", op = "page" })
      assert.is_false(doc.ok)
      assert.are.equal("curl", doc.transport)
      assert.are.equal("TransportError", doc.error.code)
      assert.is_false(doc.error.retryable)
    end)

    it("the curl transport in nginx reads ca_file instead", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/runs", { server = "tls", transport = "curl", arn = "runs-3" })
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("curl", doc.transport)
      assert.are.equal(3, doc.count)
    end)
  end)

  describe("phases without cosockets fall back to libcurl", function()
    local function poll(key)
      for _ = 1, 200 do
        local code, body = nginx.get("/result", { key = key })
        if code == 200 then
          return cjson.decode(body)
        end
        sleep(0.05)
      end
      error("no result for " .. key .. "\n" .. nginx.log_tail())
    end

    it("init_worker_by_lua", function()
      if skip_without_nginx() then return end
      local doc = poll("init_worker")
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("init_worker", doc.phase)
      assert.are.equal("curl", doc.transport)
      assert.are.equal(3, doc.count)
    end)

    it("set_by_lua", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/set", { arn = "runs-25", page_size = 7 })
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("set", doc.phase)
      assert.are.equal("curl", doc.transport)
      local ok, want = local_list { arn = "runs-25", page_size = 7 }
      assert.is_true(ok)
      assert.are.equal(json.encode(want.runs), json.encode(doc.runs))
    end)

    it("log_by_lua", function()
      if skip_without_nginx() then return end
      nginx.get("/log", { key = "log-1", arn = "runs-12" })
      local doc = poll("log-1")
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("log", doc.phase)
      assert.are.equal("curl", doc.transport)
      assert.are.equal(12, doc.count)
    end)

    it("while an ngx.timer has cosockets again", function()
      if skip_without_nginx() then return end
      nginx.get("/timer", { key = "timer-1", arn = "runs-25", page_size = 7 })
      local doc = poll("timer-1")
      assert.is_true(doc.ok, json.encode(doc))
      assert.are.equal("timer", doc.phase)
      assert.are.equal("ngx", doc.transport)
      assert.are.equal(25, doc.count)
    end)

    it("and transport = \"ngx\" there is a ConfigError, not a hang", function()
      if skip_without_nginx() then return end
      local doc = nginx.json("/set", { arn = "runs-3", transport = "ngx" })
      assert.is_false(doc.ok)
      assert.are.equal("ConfigError", doc.error.code)
    end)
  end)

  describe("our HTTP/1.1 client", function()
    local cases = {
      { case = "chunked", status = 200, body_len = 3 * 4000 + 5 },
      { case = "length", status = 200, body_len = 100000 },
      { case = "redirect", status = 301 },
      { case = "continue", status = 200, body_len = 2 },
      { case = "close-delimited", status = 200, body_len = 5000 },
      { case = "big-chunked", code = "ResponseError" },
      { case = "big-length", code = "ResponseError" },
      { case = "lf-only", status = 200, body_len = 2, pad = "a b", rep = "1, 2" },
      { case = "malformed-header", code = "ResponseError" },
      { case = "no-status", code = "TransportError" },
      { case = "huge-headers", code = "ResponseError" },
      -- header lines arriving within the read timeout still hit the attempt's deadline
      { case = "trickle", timeout = 0.5, code = "TimeoutError", within = 2 },
    }
    for _, c in ipairs(cases) do
      it(c.case, function()
        if skip_without_nginx() then return end
        local t0 = os.time()
        local doc = nginx.json("/transport", { case = c.case, timeout = c.timeout })
        if c.within then
          assert.is_true(os.time() - t0 <= c.within, "took " .. (os.time() - t0) .. " s")
        end
        if c.code then
          assert.is_false(doc.ok, json.encode(doc))
          assert.are.equal(c.code, doc.error.code)
          return
        end
        if c.pad then
          assert.are.equal(c.pad, doc.pad)
          assert.are.equal(c.rep, doc.rep)
        end
        assert.is_true(doc.ok, json.encode(doc))
        assert.are.equal(c.status, doc.status)
        if c.body_len then
          assert.are.equal(c.body_len, doc.body_len)
          assert.is_true(doc.body_ok)
        end
      end)
    end
  end)
end)

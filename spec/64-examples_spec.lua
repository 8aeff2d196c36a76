-- examples/ run against the stand-in, so they cannot rot: examples/list.lua
-- under the interpreter running the suite (every code path: a page, a stop
-- and a resume, each kind of error and its exit status), and the OpenResty
-- app in examples/openresty/ in a real nginx (its nginx.conf as shipped, with
-- only the port, the module directory and the temp paths changed).
-- SFN_SKIP_NGINX=1 skips the nginx part on a machine without nginx.
local standin = require "standin"
local support = require "support"
local cjson = require "cjson"

local quote, capture, read_file, write_file = support.quote, support.capture, support.read_file, support.write_file

local ROOT = capture("pwd"):match("[^\n]+")
local NGINX = os.getenv("NGINX") or "/usr/sbin/nginx"
local MODULES = os.getenv("NGINX_MODULES") or "/usr/lib/nginx/modules"

local function aws_env(s, extra)
  local c = s.credentials[1]
  local env = {
    PATH = os.getenv("PATH") or "/usr/bin:/bin", HOME = "/nonexistent",
    AWS_REGION = s.region, AWS_ACCESS_KEY_ID = c.access_key_id, AWS_SECRET_ACCESS_KEY = c.secret_access_key,
    AWS_ENDPOINT_URL_SFN = s.url, AWS_CONFIG_FILE = "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials", AWS_EC2_METADATA_DISABLED = "true",
    AWS_MAX_ATTEMPTS = "2", NO_PROXY = "127.0.0.1,localhost",
  }
  for k, v in pairs(extra or {}) do
    env[k] = v or nil
  end
  return env
end

local function env_command(env)
  local parts = { "env -i" }
  for k, v in pairs(env) do
    parts[#parts + 1] = quote(k .. "=" .. v)
  end
  return table.concat(parts, " ")
end

describe("examples/list.lua", function()
  local s, tmp

  setup(function()
    s = standin.start {}
    tmp = support.tmpdir("sfn-examples")
  end)

  teardown(function()
    if s then
      s:stop()
    end
    if tmp and tmp:match("^/.+sfn%-examples") then
      os.execute("rm -rf " .. quote(tmp))
    end
  end)

  -- status, stdout, stderr
  local function list(args, extra_env)
    local env = aws_env(s, extra_env)
    -- sanitizer runs (make asan-test) need the runtime preloaded in the child too
    for _, name in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" } do
      env[name] = os.getenv(name)
    end
    local line = env_command(env) .. " " .. quote("LUA_PATH=" .. support.lua_path(ROOT)) .. " "
      .. quote("LUA_CPATH=" .. support.lua_cpath(ROOT)) .. " " .. quote(support.interpreter()) .. " "
      .. quote(ROOT .. "/examples/list.lua")
    for _, a in ipairs(args) do
      line = line .. " " .. quote(a)
    end
    local status = tonumber(capture(line .. " >" .. quote(tmp .. "/out") .. " 2>" .. quote(tmp .. "/err")
      .. " </dev/null; echo $?"):match("(%d+)%s*$"))
    return status, read_file(tmp .. "/out") or "", read_file(tmp .. "/err") or ""
  end

  it("lists a page, stops after MAX_ITEMS and resumes from the token", function()
    local status, out, err = list { s:arn("runs-25"), "12" }
    assert.are.equal(0, status, err)
    assert.truthy(out:find("first page: 5 Map Runs, more to come\n", 1, true), out)
    assert.truthy(out:find("\nlisted 12; resume token: ", 1, true), out)
    assert.truthy(out:find("\nresumed: 13 more, 25 in all\n", 1, true), out)
    local arns, seen = 0, {}
    for arn in out:gmatch("(arn:aws:states:%S+:mapRun:%S+)") do
      assert.is_nil(seen[arn], "listed twice: " .. arn)
      seen[arn] = true
      arns = arns + 1
    end
    assert.are.equal(25, arns)
    assert.truthy(out:find("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ"), out)
  end)

  it("says when there is nothing to resume", function()
    local status, out, err = list { s:arn("runs-3"), "10" }
    assert.are.equal(0, status, err)
    assert.truthy(out:find("listed 3; resume token: none (that was all)", 1, true), out)
    assert.is_nil(out:find("resumed:", 1, true))
  end)

  for _, case in ipairs {
    { "missing", "ExecutionDoesNotExist", 3 },
    { "access-denied", "AccessDeniedException", 4 },
    { "throttle-forever", "ThrottlingException", 5, "retryable" },
    { "truncated-json", "ResponseError", 5 },
    { "error-500", "InternalServerError", 1, "retryable" },
  } do
    it("handles " .. case[2] .. " with exit status " .. case[3], function()
      local status, out, err = list { s:arn(case[1]) }
      assert.are.equal(case[3], status, err)
      assert.are.equal("", out)
      assert.truthy(err:find("(" .. case[2], 1, true), err)
      if case[4] then
        assert.truthy(err:find(", retryable)", 1, true), err)
      end
      assert.are.equal(1, select(2, err:gsub("\n", "\n")) - 1) -- the advice line and one error line
    end)
  end

  it("handles InvalidArn, ValidationError, CredentialsError, ConfigError and TransportError", function()
    local status, _, err = list { "arn:aws:states:us-east-1:123456789012:stateMachine:flow" }
    assert.are.equal(2, status)
    assert.truthy(err:find("(InvalidArn", 1, true), err)
    status, _, err = list { "" }
    assert.are.equal(2, status)
    assert.truthy(err:find("(ValidationError", 1, true), err)
    status, _, err = list({ s:arn("runs-3") }, { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false })
    assert.are.equal(4, status)
    assert.truthy(err:find("(CredentialsError", 1, true), err)
    status, _, err = list({ s:arn("runs-3") }, { AWS_REGION = false })
    assert.are.equal(2, status)
    assert.truthy(err:find("(ConfigError", 1, true), err)
    status, _, err = list({ s:arn("runs-3") }, { AWS_ENDPOINT_URL_SFN = "http://127.0.0.1:9" })
    assert.are.equal(5, status)
    assert.truthy(err:find("(TransportError, retryable)", 1, true), err)
  end)

  it("prints a usage line for wrong arguments", function()
    local status, out, err = list { s:arn("runs-3"), "ten" }
    assert.are.equal(2, status)
    assert.are.equal("", out)
    assert.truthy(err:find("usage: list.lua", 1, true), err)
  end)
end)

describe("examples/openresty", function()
  local s, prefix, base, pid_file

  local function get(query)
    local out = capture("curl -sS -g --noproxy '*' --max-time 30 -w '\\n%{http_code}' "
      .. quote(base .. "/map-runs" .. query) .. " 2>&1")
    local body, code = out:match("^(.*)\n(%d%d%d)$")
    local ok, doc = pcall(cjson.decode, body or "")
    assert(ok and type(doc) == "table", "not JSON (" .. tostring(code) .. "): " .. out .. "\n"
      .. (read_file(prefix .. "/logs/error.log") or ""):sub(-2000))
    return tonumber(code), doc
  end

  setup(function()
    if os.getenv("SFN_SKIP_NGINX") == "1" then
      return
    end
    s = standin.start {}
    -- nginx loads the LuaJIT build
    local out = capture("cd " .. quote(ROOT) .. " && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s LUA=luajit build 2>&1;"
      .. " echo rc=$?")
    assert(out:match("rc=0%s*$"), "make LUA=luajit failed:\n" .. out)
    prefix = support.tmpdir("sfn-openresty")
    assert(support.run("chmod 755 " .. quote(prefix) .. " && mkdir -p " .. quote(prefix .. "/logs") .. " "
      .. quote(prefix .. "/tmp") .. " && cp " .. quote(ROOT .. "/examples/openresty/") .. "*.lua "
      .. quote(prefix)))
    local port = assert(tonumber(capture([[python3 -c 'import socket; s=socket.socket(); ]]
      .. [[s.bind(("127.0.0.1",0)); print(s.getsockname()[1])']]):match("%d+")))
    base = "http://127.0.0.1:" .. port
    local conf, n = assert(read_file(ROOT .. "/examples/openresty/nginx.conf"))
      :gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. port .. ";")
    assert(n == 1, "no listen line")
    conf = conf:gsub("/usr/lib/nginx/modules/", MODULES .. "/")
    -- the spec's own: run as root when root, temp files in the prefix
    local temp = {}
    for _, t in ipairs { "client_body", "proxy", "fastcgi", "uwsgi", "scgi" } do
      temp[#temp + 1] = ("    %s_temp_path %s/tmp/%s;\n"):format(t, prefix, t)
    end
    conf = conf:gsub("\nhttp {\n", "\nhttp {\n" .. table.concat(temp), 1)
    if support.run("test $(id -u) -eq 0") then
      conf = "user root root;\n" .. conf
    end
    write_file(prefix .. "/nginx.conf", conf)
    pid_file = prefix .. "/logs/nginx.pid"
    -- LUA_PATH / LUA_CPATH stand for an installed sfn: ";;" in the conf
    -- takes LuaJIT's default path, which starts from them.
    local start = env_command(aws_env(s, {
      LUA_PATH = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
      LUA_CPATH = ROOT .. "/build/luajit/?.so;;",
    })) .. " " .. quote(NGINX) .. " -p " .. quote(prefix .. "/") .. " -c nginx.conf -e logs/error.log 2>&1; echo rc=$?"
    out = capture(start)
    assert(out:match("rc=0%s*$"), "nginx did not start:\n" .. out)
    assert(support.wait_for_file(pid_file, 100, 0.05), "no pid file")
  end)

  teardown(function()
    if pid_file then
      local pid = (read_file(pid_file) or ""):match("%d+")
      if pid then
        os.execute("kill -QUIT " .. pid .. " 2>/dev/null")
        for _ = 1, 100 do
          if not read_file(pid_file) then
            break
          end
          support.sleep(0.05)
        end
      end
    end
    if s then
      s:stop()
    end
    if prefix and prefix:match("^/.+sfn%-openresty") and not os.getenv("SFN_KEEP_NGINX") then
      os.execute("rm -rf " .. quote(prefix))
    end
  end)

  local function skip()
    if os.getenv("SFN_SKIP_NGINX") == "1" then
      pending("SFN_SKIP_NGINX=1")
      return true
    end
  end

  it("serves pages as JSON with ISO 8601 dates, following nextToken", function()
    if skip() then return end
    local arn = s:arn("runs-25")
    local seen, pages, token = {}, 0, nil
    repeat
      local code, doc = get("?executionArn=" .. arn .. "&maxResults=10"
        .. (token and ("&nextToken=" .. token:gsub("[^%w]", function(c) return ("%%%02X"):format(c:byte()) end)) or ""))
      assert.are.equal(200, code)
      pages = pages + 1
      for _, run in ipairs(doc.mapRuns) do
        assert.is_nil(seen[run.mapRunArn])
        seen[run.mapRunArn] = true
        assert.truthy(run.startDate:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"), run.startDate)
        assert.are.equal(arn, run.executionArn)
      end
      token = doc.nextToken ~= cjson.null and doc.nextToken or nil
    until not token
    assert.are.equal(3, pages)
    local n = 0
    for _ in pairs(seen) do
      n = n + 1
    end
    assert.are.equal(25, n)
  end)

  it("writes an empty page as an empty array", function()
    if skip() then return end
    local code, doc = get("?executionArn=" .. s:arn("runs-0"))
    assert.are.equal(200, code)
    assert.are.same({}, doc.mapRuns)
    assert.are.equal(cjson.null, doc.nextToken)
  end)

  it("answers each error code with its status and the error as JSON", function()
    if skip() then return end
    for _, case in ipairs {
      { "?executionArn=" .. s:arn("missing"), 404, "ExecutionDoesNotExist" },
      { "?executionArn=arn:aws:states:us-east-1:123456789012:stateMachine:flow", 400, "InvalidArn" },
      { "?executionArn=" .. s:arn("runs-3") .. "&maxResults=5000", 400, "ValidationError" },
      { "?executionArn=" .. s:arn("runs-3") .. "&nextToken=bogus", 400, "InvalidToken" },
      { "", 400, "ValidationError" },
      { "?executionArn=" .. s:arn("throttle-forever"), 429, "ThrottlingException" },
      { "?executionArn=" .. s:arn("access-denied"), 502, "AccessDeniedException" },
    } do
      local code, doc = get(case[1])
      assert.are.equal(case[2], code, case[1])
      assert.are.equal(case[3], doc.error.code, case[1])
      assert.are.equal("string", type(doc.error.message))
    end
  end)

  it("makes one client per worker and reuses its connection", function()
    if skip() then return end
    s:reset()
    for _ = 1, 6 do
      assert.are.equal(200, (get("?executionArn=" .. s:arn("runs-3"))))
    end
    local stats = s:stats()
    assert.are.equal(6, stats.requests)
    -- two workers, each with its own client and one kept-alive connection
    assert.is_true(stats.connections <= 2, stats.connections .. " connections")
  end)
end)

-- Test plumbing: start, query and stop the local Step Functions stand-in
-- (spec/standin/server.py) from a spec. Plain Lua (5.1, 5.4, LuaJIT), no
-- libraries: the server runs as a background python3 process, and the
-- control endpoints are reached with the curl CLI.
--
--   local standin = require "standin"
--   local s = standin.start {            -- every option optional
--     credentials = { "AKID:SECRET[:TOKEN]", ... }, region = "us-east-1",
--     clock_skew = 900, delay_ms = 200, fault = "throttle-2", path_prefix = "/sfn",
--     tls = true, verbose = true, port = 0, python = "python3",
--     extra_args = { ... }, start_timeout = 10,
--   }
--   s.port, s.url ("http://127.0.0.1:PORT" or "https://..." with tls), s.scheme,
--   s.ca_file and s.other_ca_file (tls only), s.prefixed_url (path_prefix only),
--   s.region, s.credentials ({ {access_key_id=, secret_access_key=, session_token=}, ... }),
--   s.pid, s.dir, s.log_file
--   s:stats()     -> { connections=, accepted=, open_connections=, requests=, control_requests=,
--                      arns = { [arn] = n }, last_request = { method=, path=, headers=, body= },
--                      config = { delay_ms=, clock_skew=, fault=, region= }, port=, tls= }
--   s:reset()     -> s   (zero the counters)
--   s:config { delay_ms = 0, clock_skew = 0, fault = "drop" }  -> new config; fault = false clears
--   s:arn("runs-25" [, state_machine]) -> "arn:aws:states:<region>:123456789012:execution:flow:runs-25"
--   s:client_config { max_attempts = 1 } -> options for sfn.new aimed at this stand-in
--   s:log()       -> what the server wrote on stderr
--   s:stop()      (also on garbage collection, and the server exits when this process does)
--   standin.arn(name [, region [, state_machine]])
--
-- See spec/standin/README.md for the execution names that trigger faults.
local M = {}

M.DEFAULT_CREDENTIALS = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
M.ACCOUNT = "123456789012"
M.STATE_MACHINE = "flow"
-- Pass as a value to s:config to send JSON null (false does the same for fault).
M.null = setmetatable({}, { __tostring = function() return "null" end })

local load_string = loadstring or load

local here = (debug.getinfo(1, "S").source:match("^@(.*)$") or ""):match("^(.*)[/\\][^/\\]*$") or "."
M.SCRIPT = here .. "/standin/server.py"
M.MAKE_CA = here .. "/standin/make-test-ca.sh"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The plumbing (python3, curl, openssl) never inherits a sanitizer runtime
-- that `make asan` preloads into the interpreter under test.
local function plain(cmd)
  return "unset LD_PRELOAD; " .. cmd
end

local function capture(cmd)
  local h = assert(io.popen(plain(cmd), "r"))
  local out = h:read("*a")
  h:close()
  return out
end

local function run(cmd)
  local a, _, c = os.execute(plain(cmd))
  return a == true or a == 0 or (a == nil and c == 0) -- 5.1/LuaJIT return a number, 5.2+ true/nil
end

local function sleep(seconds)
  os.execute("sleep " .. seconds)
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local data = f:read("*a")
  f:close()
  return data
end

local lua_pid
local function own_pid()
  -- The shell io.popen starts is our child, so its $PPID is this process.
  if not lua_pid then
    lua_pid = tonumber(capture("echo $PPID"):match("%d+"))
  end
  return lua_pid
end

-- A process counts as gone once it has exited, zombie or not.
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if stat then
    return not stat:match("^%d+ %b() [ZX]")
  end
  if read_file("/proc/self/stat") then
    return false -- Linux, and no such process
  end
  return run("kill -0 " .. pid .. " 2>/dev/null")
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local named = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return named[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_value(v)
  local t = type(v)
  if v == M.null then
    return "null"
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("standin: cannot send " .. tostring(v) .. " as JSON", 3)
    end
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      return string.format("%d", v)
    end
    return string.format("%.17g", v)
  elseif t == "string" then
    return json_string(v)
  end
  error("standin: cannot send a " .. t .. " as JSON", 3)
end

local Server = {}
Server.__index = Server

local function curl(self, method, path, body)
  local cmd = { "curl", "-sS", "--noproxy", quote("*"), "--max-time", "10", "-X", method }
  if self.ca_file then
    cmd[#cmd + 1] = "--cacert " .. quote(self.ca_file)
  end
  if body then
    cmd[#cmd + 1] = "-H " .. quote("Content-Type: application/json") .. " --data-binary " .. quote(body)
  end
  cmd[#cmd + 1] = quote(self.url .. path) .. " 2>&1"
  local out = capture(table.concat(cmd, " "))
  if not out:match("^return ") then
    error("standin: " .. method .. " " .. path .. " failed: " .. out, 3)
  end
  local chunk, err = load_string(out, "=standin" .. path)
  if not chunk then
    error("standin: unreadable reply from " .. path .. ": " .. err, 3)
  end
  return chunk()
end

--- Counters since start or the last reset, and the last API request:
-- { connections = n,        -- distinct connections that carried an API request
--   accepted = n,           -- every TCP connection accepted, control ones included
--   open_connections = n, requests = n, control_requests = n,
--   arns = { [executionArn] = requests },
--   last_request = { method =, path =, headers = { [lowercased name] = value }, body = },
--   config = { delay_ms =, clock_skew =, fault =, region = }, port =, tls = }
function Server:stats()
  return curl(self, "GET", "/_stats?format=lua")
end

function Server:reset()
  curl(self, "POST", "/_reset?format=lua", "")
  return self
end

--- Change delay_ms, clock_skew or fault at run time; returns the new config.
-- fault = false (or standin.null) clears it.
function Server:config(t)
  local parts = {}
  for k, v in pairs(t) do
    if k == "fault" and v == false then
      v = M.null
    end
    parts[#parts + 1] = json_string(tostring(k)) .. ":" .. json_value(v)
  end
  return curl(self, "POST", "/_config?format=lua", "{" .. table.concat(parts, ",") .. "}")
end

function Server:arn(name, state_machine)
  return ("arn:aws:states:%s:%s:execution:%s:%s"):format(self.region, M.ACCOUNT, state_machine or M.STATE_MACHINE,
    name)
end

--- Options for sfn.new that talk to this stand-in with its first credentials.
function Server:client_config(overrides)
  local c = self.credentials[1]
  local o = {
    region = self.region,
    endpoint = self.url,
    credentials = { access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
      session_token = c.session_token },
    ca_file = self.ca_file,
  }
  for k, v in pairs(overrides or {}) do
    o[k] = v
  end
  return o
end

--- What the server wrote on stderr (nothing unless verbose = true).
function Server:log()
  return read_file(self.log_file) or ""
end

function Server:stop()
  if self.stopped then
    return true
  end
  self.stopped = true
  run("kill -TERM " .. self.pid .. " 2>/dev/null")
  local gone = false
  for _ = 1, 100 do
    if not alive(self.pid) then
      gone = true
      break
    end
    sleep(0.05)
  end
  if not gone then
    run("kill -KILL " .. self.pid .. " 2>/dev/null")
  end
  run("rm -rf " .. quote(self.dir))
  return true
end

local function split_credentials(spec)
  local akid, secret, token = spec:match("^([^:]+):([^:]+):?(.*)$")
  if not akid then
    error("standin: credentials want AKID:SECRET[:TOKEN], got " .. spec, 3)
  end
  return { access_key_id = akid, secret_access_key = secret, session_token = token ~= "" and token or nil }
end

--- Start a stand-in. Every option is optional:
-- credentials = { "AKID:SECRET[:TOKEN]", ... } (default AKIDEXAMPLE, no token),
-- region = "us-east-1", clock_skew = seconds, delay_ms = n, fault = "name",
-- path_prefix = "/prefix", tls = true, verbose = true, port = n,
-- python = "python3", extra_args = { "--flag", ... }, start_timeout = 10 (seconds).
function M.start(opts)
  opts = opts or {}
  local dir = capture("mktemp -d \"${TMPDIR:-/tmp}/sfn-standin.XXXXXX\""):match("[^\r\n]+")
  assert(dir and dir ~= "", "standin: mktemp -d failed")
  local self = setmetatable({
    dir = dir,
    port_file = dir .. "/port",
    log_file = dir .. "/server.log",
    region = opts.region or "us-east-1",
    credentials = {},
  }, Server)

  local args = { opts.python or os.getenv("STANDIN_PYTHON") or "python3", M.SCRIPT,
    "--port-file", self.port_file, "--port", opts.port or 0, "--region", self.region }
  local pid = own_pid()
  if pid then
    args[#args + 1] = "--watch-pid"
    args[#args + 1] = pid
  end
  for _, spec in ipairs(opts.credentials or { M.DEFAULT_CREDENTIALS }) do
    self.credentials[#self.credentials + 1] = split_credentials(spec)
    args[#args + 1] = "--credentials"
    args[#args + 1] = spec
  end
  for _, o in ipairs { { "clock_skew", "--clock-skew" }, { "delay_ms", "--delay-ms" }, { "fault", "--fault" },
    { "path_prefix", "--path-prefix" } } do
    if opts[o[1]] ~= nil then
      args[#args + 1] = o[2]
      args[#args + 1] = opts[o[1]]
    end
  end
  if opts.verbose then
    args[#args + 1] = "--verbose"
  end
  if opts.tls then
    local tls_dir = dir .. "/tls"
    local out = capture("sh " .. quote(M.MAKE_CA) .. " " .. quote(tls_dir) .. " 2>&1; echo rc=$?")
    if not out:match("rc=0%s*$") then
      run("rm -rf " .. quote(dir))
      error("standin: make-test-ca.sh failed: " .. out, 2)
    end
    self.ca_file = tls_dir .. "/ca.pem"
    self.other_ca_file = tls_dir .. "/other-ca.pem"
    args[#args + 1] = "--tls-cert"
    args[#args + 1] = tls_dir .. "/server.pem"
    args[#args + 1] = "--tls-key"
    args[#args + 1] = tls_dir .. "/server.key"
  end
  for _, a in ipairs(opts.extra_args or {}) do
    args[#args + 1] = a
  end

  local quoted = {}
  for i, a in ipairs(args) do
    quoted[i] = quote(a)
  end
  local cmd = table.concat(quoted, " ") .. " >" .. quote(self.log_file) .. " 2>&1 </dev/null & echo $!"
  self.pid = tonumber(capture(cmd):match("%d+"))
  assert(self.pid, "standin: could not start " .. args[1])

  local deadline = os.time() + (opts.start_timeout or 10) + 1
  local tries = math.floor((opts.start_timeout or 10) / 0.05)
  for _ = 1, tries do
    local port = tonumber((read_file(self.port_file) or ""):match("^(%d+)\n"))
    if port then
      self.port = port
      break
    end
    if not alive(self.pid) or os.time() > deadline then
      break
    end
    sleep(0.05)
  end
  if not self.port then
    local log = self:log()
    self:stop()
    error("standin: server did not start: " .. log, 2)
  end
  self.scheme = opts.tls and "https" or "http"
  self.url = self.scheme .. "://127.0.0.1:" .. self.port
  if opts.path_prefix then
    self.prefixed_url = self.url .. "/" .. tostring(opts.path_prefix):gsub("^/+", ""):gsub("/+$", "")
  end

  -- Stop a forgotten server when its object is collected (and --watch-pid
  -- stops it when this process ends).
  if newproxy then
    self.gc_guard = newproxy(true)
    getmetatable(self.gc_guard).__gc = function()
      self:stop()
    end
  end
  return self
end

Server.__gc = Server.stop

--- The ARN of execution `name` in the stand-in's default account (region
-- defaults to us-east-1).
function M.arn(name, region, state_machine)
  return Server.arn({ region = region or "us-east-1" }, name, state_machine)
end

return M

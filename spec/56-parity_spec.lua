-- Parity (issue 9, "Proof"): one table of cases, each run through every
-- transport — libcurl (the C loop), a function transport (the Lua driver,
-- here over curl.http_request) and OpenResty cosockets (transport = "ngx" in
-- a real nginx, spec/nginx/parity.conf.template) — against the stand-in.
-- The three normalized outcomes (spec/nginx/sfn_parity.lua: the page or every
-- error field, attempts, the per-attempt decisions, sleeps, credential calls,
-- the retry state; here: the stand-in's request count and the last request it
-- saw) must be identical, and the curl outcome must match what the case
-- expects, so that the three cannot agree on a wrong answer.
--
-- KNOWN_DIVERGENT lists the cases where the transports still disagree (none
-- since one engine, src/engine.c, decides for all of them) and on which field
-- (the rest must agree); KNOWN_WRONG those where they agree on an outcome the
-- contract does not allow. A listed case passes while it is still wrong and
-- fails once it is right, asking to be taken off its list: the lists only
-- shrink.
--
-- One stand-in and one nginx for the whole file; retries sleep through a
-- recording `sleep` option, so the file runs in seconds. SFN_SKIP_NGINX=1
-- runs only the two in-process transports; SFN_PARITY_DUMP=FILE writes every
-- outcome to FILE (JSON lines).
local sfn = require "sfn"
local curl = require "sfn.curl"
local cjson = require "cjson"
local standin = require "standin"
local support = require "support"
local json = dofile("spec/nginx/sfn_json.lua")
local parity = dofile("spec/nginx/sfn_parity.lua")

local NGINX = os.getenv("NGINX") or "/usr/sbin/nginx"
local MODULES = os.getenv("NGINX_MODULES") or "/usr/lib/nginx/modules"
local SKIP_NGINX = os.getenv("SFN_SKIP_NGINX") ~= nil
-- SFN_PARITY_DUMP=FILE writes every outcome there, one JSON line each.
local DUMP = os.getenv("SFN_PARITY_DUMP") and assert(io.open(os.getenv("SFN_PARITY_DUMP"), "w"))

-- The function transport here sends each request on a connection of its own.
local NO_KEEPALIVE = "curl.http_request keeps no connection alive between requests"

local LONG_ARN = parity.PREFIX .. ("x"):rep(257 - #parity.PREFIX)

-- The cases ------------------------------------------------------------------
-- Stand-in side: the execution name picks the fault (spec/standin/README.md);
-- skew = seconds added to the stand-in's clock. `without` = { transport = why }
-- leaves a transport out of a case for a reason of the test's own making.
-- `expect` is checked against the curl outcome's summary (see `summary`
-- below): a subset of
--   ok, code, status, retryable, attempts, request_id ("present"/"absent"),
--   requests (API requests the stand-in saw), items, pages, next_token,
--   resume, retry_attempts, sleeps, credential_calls, forced_refreshes,
--   clock_offset_minutes, quota.
-- Validation cases use a counting credentials function: nothing is sent and
-- no credentials are resolved.
local CASES = {
  -- success, one page and several
  { name = "page: 3 Map Runs", exec = "runs-3",
    expect = { ok = true, items = 3, next_token = false, retry_attempts = 0, requests = 1, sleeps = 0, quota = 500 } },
  { name = "page: maxResults 7 of 30, with nextToken", exec = "runs-30", params = { maxResults = 7 },
    expect = { ok = true, items = 7, next_token = true, requests = 1 } },
  { name = "page: maxResults 0 is the service default", exec = "runs-3", params = { maxResults = 0 },
    expect = { ok = true, items = 3, next_token = false } },
  { name = "page: no Map Runs", exec = "none",
    expect = { ok = true, items = 0, next_token = false, requests = 1 } },
  { name = "page: running Map Run without stopDate", exec = "runs-12", params = { maxResults = 12 },
    expect = { ok = true, items = 12, requests = 1 } },
  { name = "pages: 25 Map Runs, 7 a page", exec = "runs-25", call = "pages", pagination = { page_size = 7 },
    expect = { ok = true, pages = 4, items = 25, resume = false, requests = 4 } },
  { name = "pages: 25 Map Runs, credentials function", exec = "runs-25", call = "pages",
    pagination = { page_size = 10 }, credentials = "function",
    expect = { ok = true, pages = 3, items = 25, requests = 3, credential_calls = 1, forced_refreshes = 0 } },
  { name = "items: 10 of 25, resume token", exec = "runs-25", call = "items",
    pagination = { max_items = 10, page_size = 7 },
    expect = { ok = true, items = 10, resume = true, requests = 2 } },
  { name = "items: all 12", exec = "runs-12", call = "items", pagination = { page_size = 5 },
    expect = { ok = true, items = 12, resume = false, requests = 3 } },

  -- service errors, never retried
  { name = "ExecutionDoesNotExist", exec = "missing",
    expect = { ok = false, code = "ExecutionDoesNotExist", status = 400, retryable = false, attempts = 1,
      request_id = "present", requests = 1, sleeps = 0 } },
  { name = "InvalidArn: bad prefix", params = { executionArn = "arn:aws:states:us-east-1:123456789012:nope" },
    expect = { ok = false, code = "InvalidArn", status = 400, retryable = false, attempts = 1, requests = 1 } },
  { name = "InvalidArn: a state machine ARN",
    params = { executionArn = "arn:aws:states:us-east-1:123456789012:stateMachine:flow:x" },
    expect = { ok = false, code = "InvalidArn", attempts = 1, requests = 1 } },
  { name = "ValidationException from the service", exec = "validation",
    expect = { ok = false, code = "ValidationException", status = 400, retryable = false, attempts = 1,
      requests = 1 } },
  { name = "AccessDeniedException", exec = "access-denied",
    expect = { ok = false, code = "AccessDeniedException", status = 400, retryable = false, attempts = 1,
      requests = 1 } },
  { name = "InvalidToken", exec = "runs-30", params = { nextToken = "bm90IGEgdG9rZW4=" },
    expect = { ok = false, code = "InvalidToken", status = 400, retryable = false, attempts = 1, requests = 1 } },
  { name = "InvalidToken while paging", exec = "runs-30", call = "pages",
    pagination = { starting_token = "bm90IGEgdG9rZW4=" },
    expect = { ok = false, code = "InvalidToken", pages = 0, attempts = 1, requests = 1 } },
  { name = "InvalidToken: a starting_token that is no resume token goes to the service", exec = "runs-30",
    call = "items", pagination = { starting_token = "not a token" },
    expect = { ok = false, code = "InvalidToken", items = 0, attempts = 1, requests = 1 } },
  { name = "UnrecognizedClientException: unknown key", exec = "runs-3", credentials = "unknown-key",
    expect = { ok = false, code = "UnrecognizedClientException", status = 400, retryable = false, attempts = 1,
      requests = 1 } },
  { name = "InvalidSignatureException: wrong secret (message redacted)", exec = "runs-3",
    credentials = "wrong-secret",
    expect = { ok = false, code = "InvalidSignatureException", status = 400, retryable = false, attempts = 1,
      requests = 1 } },
  { name = "UnknownOperationException: another path", exec = "runs-3", endpoint_path = "/elsewhere",
    expect = { ok = false, code = "UnknownOperationException", status = 404, retryable = false, attempts = 1,
      requests = 1 } },

  -- throttling
  { name = "throttling burst that recovers", exec = "throttle-2",
    expect = { ok = true, items = 3, retry_attempts = 2, requests = 3, sleeps = 2, quota = 495 } },
  { name = "throttling burst while paging", exec = "throttle-2", call = "pages", pagination = { page_size = 1 },
    expect = { ok = true, pages = 3, items = 3, requests = 5, sleeps = 2 } },
  { name = "throttling exhausts max_attempts", exec = "throttle-forever",
    expect = { ok = false, code = "ThrottlingException", status = 400, retryable = true, attempts = 3,
      requests = 3, sleeps = 2, quota = 490 } },
  { name = "throttling with max_attempts 1", exec = "throttle-1", options = { max_attempts = 1 },
    expect = { ok = false, code = "ThrottlingException", retryable = true, attempts = 1, requests = 1, sleeps = 0 } },
  { name = "throttling burst in adaptive mode", exec = "throttle-2", options = { retry_mode = "adaptive" },
    expect = { ok = true, retry_attempts = 2, requests = 3 } },

  -- 5xx
  { name = "500 InternalServerError", exec = "error-500", options = { max_attempts = 2 },
    expect = { ok = false, code = "InternalServerError", status = 500, retryable = true, attempts = 2,
      requests = 2, sleeps = 1 } },
  { name = "503 with an HTML body", exec = "error-503-html",
    expect = { ok = false, code = "503", status = 503, retryable = true, attempts = 3, request_id = "absent",
      requests = 3, sleeps = 2 } },

  -- unreadable replies
  { name = "truncated JSON", exec = "truncated-json",
    expect = { ok = false, code = "ResponseError", status = 200, retryable = false, attempts = 1, requests = 1 } },
  { name = "wrong-shape JSON", exec = "bad-shape",
    expect = { ok = false, code = "ResponseError", status = 200, retryable = false, attempts = 1, requests = 1 } },

  -- the connection fails
  { name = "connection reset mid-body", exec = "reset-mid-body", options = { max_attempts = 2 },
    expect = { ok = false, code = "TransportError", retryable = true, attempts = 2, requests = 2, sleeps = 1 } },
  { name = "closed before Content-Length", exec = "truncated", options = { max_attempts = 2 },
    expect = { ok = false, code = "TransportError", retryable = true, attempts = 2, requests = 2 } },
  { name = "closed without a reply", exec = "drop", options = { max_attempts = 2 },
    expect = { ok = false, code = "TransportError", retryable = true, attempts = 2, requests = 2 } },
  -- (a connection that dies before any reply byte is tried once more on a
  -- fresh one, by libcurl and by sfn.ngx_transport alike: 1 + 2 + 1 requests)
  { name = "closed without a reply, on a kept-alive connection", exec = "drop", warmup = true,
    options = { max_attempts = 2 }, without = { ["function"] = NO_KEEPALIVE },
    expect = { ok = false, code = "TransportError", retryable = true, attempts = 2, requests = 4 } },
  { name = "connection reset mid-body, on a kept-alive connection", exec = "reset-mid-body", warmup = true,
    options = { max_attempts = 2 },
    expect = { ok = false, code = "TransportError", retryable = true, attempts = 2, requests = 3 } },
  { name = "connection refused", endpoint_url = "http://127.0.0.1:1",
    expect = { ok = false, code = "TransportError", retryable = true, attempts = 3, requests = 0,
      sleeps = 2 } },

  -- timeouts
  { name = "slow reply hits the timeout", exec = "slow-700", options = { max_attempts = 2, timeout = 0.3 },
    expect = { ok = false, code = "TimeoutError", retryable = true, attempts = 2, requests = 2, sleeps = 1,
      quota = 490 } },
  { name = "drip-fed reply hits the timeout", exec = "drip-body", options = { max_attempts = 1, timeout = 0.4 },
    expect = { ok = false, code = "TimeoutError", retryable = true, attempts = 1, requests = 1 } },
  { name = "slow reply within the timeout", exec = "slow-100", options = { timeout = 5, connect_timeout = 1 },
    expect = { ok = true, items = 3, requests = 1 } },

  -- redirects are not followed
  { name = "301 redirect", exec = "redirect",
    expect = { ok = false, code = "301", status = 301, retryable = false, attempts = 1, request_id = "absent",
      requests = 1 } },

  -- expired tokens
  -- (README: ExpiredTokenException refreshes the credentials once and tries
  -- again only when the refresh brings different ones; a static table
  -- refreshes to itself, so one request, as boto3 and the AWS CLI make)
  { name = "ExpiredTokenException once, static credentials", exec = "expired-token-1",
    expect = { ok = false, code = "ExpiredTokenException", status = 400, retryable = false, attempts = 1,
      requests = 1, sleeps = 0 } },
  { name = "ExpiredTokenException always, static credentials", exec = "expired-token-forever",
    expect = { ok = false, code = "ExpiredTokenException", status = 400, retryable = false, attempts = 1,
      requests = 1, sleeps = 0 } },
  { name = "ExpiredTokenException once, credentials function", exec = "expired-token-1", credentials = "function",
    expect = { ok = true, retry_attempts = 1, requests = 2, sleeps = 0, credential_calls = 2,
      forced_refreshes = 1 } },
  { name = "ExpiredTokenException always, credentials function", exec = "expired-token-forever",
    credentials = "function",
    expect = { ok = false, code = "ExpiredTokenException", attempts = 2, requests = 2, credential_calls = 2,
      forced_refreshes = 1 } },

  { name = "ExpiredTokenException with max_attempts 1", exec = "expired-token-1", credentials = "function",
    options = { max_attempts = 1 },
    expect = { ok = false, code = "ExpiredTokenException", attempts = 1, requests = 1, credential_calls = 1,
      forced_refreshes = 0 } },
  { name = "ExpiredTokenException, then the refresh fails", exec = "expired-token-1",
    credentials = "fails-on-refresh",
    expect = { ok = false, code = "CredentialsError", attempts = 1, requests = 1, credential_calls = 2,
      forced_refreshes = 1 } },

  -- credentials that cannot be had: nothing is sent
  { name = "credentials function raises", exec = "runs-3", credentials = "failing",
    expect = { ok = false, code = "CredentialsError", retryable = false, requests = 0, credential_calls = 1 } },

  -- the retry quota carries over calls on one client and runs out
  { name = "retry quota exhausted on the second call", exec = "throttle-forever", calls = 2,
    options = { max_attempts = 100 },
    expect = { ok = false, code = "ThrottlingException", retryable = true, attempts = 2, requests = 102,
      sleeps = 100, quota = 0 } },

  -- clock skew: the stand-in's clock 15 minutes ahead or behind
  { name = "clock skew +15 min is corrected", exec = "runs-3", skew = 900,
    expect = { ok = true, retry_attempts = 1, requests = 2, sleeps = 0, clock_offset_minutes = 15, quota = 500 } },
  { name = "clock skew -15 min is corrected", exec = "runs-3", skew = -900,
    expect = { ok = true, retry_attempts = 1, requests = 2, sleeps = 0, clock_offset_minutes = -15 } },
  { name = "clock skew +15 min with max_attempts 1", exec = "runs-3", skew = 900, options = { max_attempts = 1 },
    expect = { ok = false, code = "InvalidSignatureException", status = 400, retryable = false, attempts = 1,
      requests = 1, clock_offset_minutes = 0 } },
  { name = "clock skew +15 min, corrected once for every page", exec = "runs-25", skew = 900, call = "pages",
    pagination = { page_size = 10 },
    expect = { ok = true, pages = 3, items = 25, requests = 4, clock_offset_minutes = 15 } },

  -- validation: nothing sent, no credentials resolved
  { name = "validation: executionArn a number", params = { executionArn = 42 } },
  { name = "validation: executionArn a table", params = { executionArn = { "arn" } } },
  { name = "validation: executionArn missing", no_arn = true },
  { name = "validation: executionArn empty", params = { executionArn = "" } },
  { name = "validation: executionArn 257 chars", params = { executionArn = LONG_ARN } },
  { name = "validation: maxResults 1001", params = { maxResults = 1001 } },
  { name = "validation: maxResults -1", params = { maxResults = -1 } },
  { name = "validation: maxResults 1.5", params = { maxResults = 1.5 } },
  { name = "validation: maxResults a string", params = { maxResults = "10" } },
  { name = "validation: nextToken empty", params = { nextToken = "" } },
  { name = "validation: nextToken 1025 chars", params = { nextToken = ("A"):rep(1025) } },
  { name = "validation: nextToken a number", params = { nextToken = 5 } },
  { name = "validation: unknown parameter", params = { maxresults = 5 } },
  { name = "validation: pages with maxResults 5000", call = "pages", params = { maxResults = 5000 } },
  { name = "validation: pages with page_size 0", call = "pages", pagination = { page_size = 0 } },
  { name = "validation: items with max_items -1", call = "items", pagination = { max_items = -1 } },
  { name = "validation: items with a starting_token a number", call = "items",
    pagination = { starting_token = 5 } },
  { name = "validation: pages with page_size 1001", call = "pages", pagination = { page_size = 1001 } },
}

for _, case in ipairs(CASES) do
  if case.name:match("^validation: ") then
    case.credentials = "function"
    case.options = { max_attempts = 3 }
    case.expect = { ok = false, code = "ValidationError", retryable = false, attempts = 0, requests = 0,
      credential_calls = 0, sleeps = 0 }
    if case.call == "pages" or case.call == "items" then
      case.expect[case.call] = 0
    end
  end
  case.options = case.options or {}
  case.options.max_attempts = case.options.max_attempts or 3
end

-- Cases where the transports disagree today; the lead's engine rewrite
-- empties this list. case name -> what differs.
-- case name -> { field = the outcome field that differs (a.b for nested), why = }
local KNOWN_DIVERGENT = {}

-- Cases where every transport agrees on an outcome that is not the one the
-- contract (../shared/API.md, README) asks for, which `expect` states: such a
-- case passes while the curl outcome misses `expect` and fails once it meets
-- it. case name -> what is wrong.
local KNOWN_WRONG = {}

-- Outcome plumbing ------------------------------------------------------------

-- Encoded with sorted keys and decoded again: numbers of one kind, so a table
-- from JSON compares equal to one made here.
local function canonical(outcome)
  return cjson.decode(json.encode(outcome))
end

-- The flat facts `expect` talks about.
local function summary(o)
  local s = {
    requests = o.requests, sleeps = o.sleeps, credential_calls = o.credential_calls,
    forced_refreshes = o.forced_refreshes,
  }
  if o.retry then
    s.quota, s.clock_offset_minutes = o.retry.quota, o.retry.clock_offset_minutes
  end
  local e = o.error or o.new_error
  s.ok = e == nil
  if e then
    s.code, s.status, s.retryable, s.attempts, s.request_id = e.code, e.status, e.retryable, e.attempts, e.request_id
  end
  if o.page then
    s.items = o.page.mapRuns and #o.page.mapRuns
    s.next_token = o.page.nextToken ~= nil
    s.retry_attempts = o.page.ResponseMetadata and o.page.ResponseMetadata.RetryAttempts
  elseif o.pages then
    s.pages, s.items = #o.pages, 0
    for _, p in ipairs(o.pages) do
      s.items = s.items + #(p.mapRuns or {})
    end
    s.resume = o.resume_token ~= nil
  elseif o.items then
    s.items = #o.items
    s.resume = o.resume_token ~= nil
  end
  return s
end

local server, nginx

-- Stand-in control over curl.http_request: no process per call.
local function control(method, path, body)
  local status, _, reply = curl.http_request {
    method = method, url = server.url .. path .. "?format=lua", body = body,
    headers = body and { ["Content-Type"] = "application/json" } or nil, timeout = 10,
  }
  assert(status == 200, "stand-in " .. path .. ": HTTP " .. tostring(status) .. " " .. tostring(reply))
  return assert((loadstring or load)(reply, "=standin"))()
end

local current_skew = 0
local function prepare(case)
  local skew = case.skew or 0
  if skew ~= current_skew then
    control("POST", "/_config", json.encode { clock_skew = skew })
    current_skew = skew
  end
  control("POST", "/_reset", "")
end

local function function_transport(request)
  return curl.http_request {
    method = request.method, url = request.url, headers = request.headers, body = request.body,
    timeout = request.timeout, connect_timeout = request.connect_timeout, ca_file = request.ca_file,
  }
end

-- idle pooled connections the nginx handler closed before its runs
local drained = 0

local RUNNERS = {
  curl = function(case)
    return parity.run(sfn, case, { endpoint = server.url, transport = "curl" })
  end,
  ["function"] = function(case)
    return parity.run(sfn, case, { endpoint = server.url, transport = function_transport })
  end,
  ngx = function(case)
    local status, _, body = curl.http_request {
      method = "POST", url = nginx.base .. "/parity", timeout = 60,
      headers = { ["Content-Type"] = "application/json" },
      body = json.encode { case = case, endpoint = server.url },
    }
    local ok, doc = pcall(cjson.decode, body)
    if status ~= 200 or not ok or type(doc) ~= "table" or type(doc.outcome) ~= "table" then
      error(("nginx /parity: HTTP %s: %s\n%s"):format(tostring(status), tostring(body), nginx.log_tail()), 0)
    end
    drained = drained + doc.drained
    return doc.outcome
  end,
}
local TRANSPORTS = { "curl", "function", "ngx" }

-- The last request the stand-in saw, without what changes every second or
-- belongs to the HTTP client (accept, user-agent's interpreter part).
local function request_view(r)
  if type(r) ~= "table" then
    return nil
  end
  local h = r.headers or {}
  local auth = h.authorization or ""
  return {
    method = r.method, path = r.path, body = r.body,
    ["content-type"] = h["content-type"], ["x-amz-target"] = h["x-amz-target"], host = h.host,
    ["amz-sdk-request"] = h["amz-sdk-request"] and parity.timeless(h["amz-sdk-request"]),
    ["amz-sdk-invocation-id"] = h["amz-sdk-invocation-id"] and "present",
    ["x-amz-security-token"] = ({ [parity.TOKEN] = "the token", [parity.ROTATED_TOKEN] = "the rotated token" })[
      h["x-amz-security-token"]] or h["x-amz-security-token"],
    ["user-agent"] = (h["user-agent"] or ""):match("^sfn/[^ ]+") or h["user-agent"],
    authorization = parity.timeless((auth:gsub("Signature=%x+", "Signature=<hex>"))),
  }
end

-- A case through one transport: its outcome, with the stand-in's request
-- count and the last request it saw.
local function outcome_of(case, transport)
  prepare(case)
  local o = RUNNERS[transport](case)
  local stats = control("GET", "/_stats")
  o.requests = stats.requests
  o.last_request = request_view(stats.last_request)
  return canonical(o)
end

-- nginx -----------------------------------------------------------------------

local CLEAN_ENV = "env -u LD_PRELOAD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
local quote, capture, run, read_file = support.quote, support.capture, support.run, support.read_file

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() [ZX]")
end

local function start_nginx()
  assert(run("test -x " .. quote(NGINX)), NGINX .. " is missing: apt-get install nginx libnginx-mod-http-lua")
  assert(run("test -f " .. quote(MODULES .. "/ngx_http_lua_module.so")),
    "ngx_http_lua_module.so is missing: apt-get install libnginx-mod-http-lua")
  local root = capture("pwd"):match("[^\r\n]+")
  local cpath = os.getenv("SFN_NGINX_CPATH")
  if not cpath then
    -- nginx runs LuaJIT: it needs the LuaJIT build, fresh
    local out = capture(CLEAN_ENV .. "make -s LUA=luajit build 2>&1; echo rc=$?")
    assert(out:match("rc=0%s*$"), "make LUA=luajit failed:\n" .. out)
    cpath = root .. "/build/luajit/?.so"
  end
  local port = assert(tonumber(capture([[python3 -c 'import socket; s=socket.socket(); ]]
    .. [[s.bind(("127.0.0.1",0)); print(s.getsockname()[1])']]):match("%d+")))
  local n = { prefix = support.tmpdir("sfn-parity-nginx"), base = "http://127.0.0.1:" .. port }
  assert(n.prefix and n.prefix ~= "", "mktemp -d failed")
  assert(run("chmod 755 " .. quote(n.prefix) .. " && mkdir -p " .. quote(n.prefix .. "/tmp")))
  local vars = {
    MODULES = MODULES, USER = run("test $(id -u) -eq 0") and "user root root;" or "",
    PREFIX = n.prefix, ROOT = root, CPATH = cpath, PORT = port,
  }
  local conf = assert(read_file("spec/nginx/parity.conf.template")):gsub("@([%u_]+)@", function(name)
    return tostring(assert(vars[name], "parity.conf.template: no value for @" .. name .. "@"))
  end)
  support.write_file(n.prefix .. "/nginx.conf", conf)
  function n.log_tail()
    return "--- nginx error.log (tail) ---\n" .. (read_file(n.prefix .. "/error.log") or ""):sub(-3000)
  end
  function n.stop()
    if n.pid and alive(n.pid) then
      run("kill -QUIT " .. n.pid)
      for _ = 1, 100 do
        if not alive(n.pid) then
          break
        end
        support.sleep(0.05)
      end
      if alive(n.pid) then
        run("kill -KILL " .. n.pid)
      end
    end
    if n.watcher and alive(n.watcher) then
      run("kill -TERM " .. n.watcher)
    end
    if not os.getenv("SFN_KEEP_NGINX") then
      run("rm -rf " .. quote(n.prefix))
    end
  end
  local cmd = CLEAN_ENV .. quote(NGINX) .. " -p " .. quote(n.prefix .. "/") .. " -c "
    .. quote(n.prefix .. "/nginx.conf") .. " -e " .. quote(n.prefix .. "/error.log")
  local test = capture(cmd .. " -t 2>&1")
  assert(test:find("test is successful", 1, true), "nginx -t failed:\n" .. test)
  n.pid = tonumber(capture(cmd .. " >" .. quote(n.prefix .. "/stdout.log") .. " 2>&1 </dev/null & echo $!")
    :match("%d+"))
  assert(n.pid, "nginx did not start")
  -- should this process die without its teardown, a watcher stops nginx
  local own = tonumber(capture("echo $PPID"):match("%d+"))
  if own then
    n.watcher = tonumber(capture(("sh -c 'while kill -0 %d 2>/dev/null; do sleep 0.5; done; "
      .. "kill -QUIT %d 2>/dev/null' >/dev/null 2>&1 </dev/null & echo $!"):format(own, n.pid)):match("%d+"))
  end
  for _ = 1, 200 do
    if not alive(n.pid) then
      break
    end
    local ok, status = pcall(curl.http_request, { url = n.base .. "/ping", timeout = 2 })
    if ok and status == 200 then
      return n
    end
    support.sleep(0.05)
  end
  n.stop()
  error("nginx did not come up\n" .. n.log_tail())
end

-- The specs -------------------------------------------------------------------

setup(function()
  server = standin.start { credentials = {
    parity.KEY .. ":" .. parity.SECRET .. ":" .. parity.TOKEN,
    parity.ROTATED_KEY .. ":" .. parity.SECRET .. ":" .. parity.ROTATED_TOKEN,
  } }
  if not SKIP_NGINX then
    local ok, n = pcall(start_nginx)
    if not ok then
      server:stop()
      error(n, 0)
    end
    nginx = n
  end
end)

teardown(function()
  if nginx then
    nginx.stop()
  end
  if server then
    server:stop()
  end
end)

local function differences(outcomes, names)
  local lines = {}
  for _, t in ipairs(names) do
    lines[#lines + 1] = ("  %-8s %s"):format(t, json.encode(outcomes[t]))
  end
  return table.concat(lines, "\n")
end

-- Removes a field ("a" or "a.b") from an outcome.
local function drop_field(outcome, path)
  local parent, key = outcome, path
  local head, rest = path:match("^([^.]+)%.(.+)$")
  if head then
    parent, key = outcome[head], rest
  end
  if type(parent) == "table" then
    parent[key] = nil
  end
end

local function subset_mismatch(want, got)
  local bad = {}
  for k, v in pairs(want) do
    if got[k] ~= v then
      bad[#bad + 1] = ("%s: want %s, got %s"):format(k, tostring(v), tostring(got[k]))
    end
  end
  table.sort(bad)
  return #bad > 0 and table.concat(bad, "; ") or nil
end

describe("every transport gives the same outcome", function()
  it("(the case table is sound)", function()
    local names = {}
    for _, case in ipairs(CASES) do
      assert.is_nil(names[case.name], "duplicate case " .. case.name)
      names[case.name] = true
      assert.is_table(case.expect, case.name .. ": no expect")
    end
    for name in pairs(KNOWN_DIVERGENT) do
      assert.is_true(names[name], "KNOWN_DIVERGENT names no case: " .. name)
    end
    for name in pairs(KNOWN_WRONG) do
      assert.is_true(names[name], "KNOWN_WRONG names no case: " .. name)
    end
  end)

  it("(the nginx handler starts every run without pooled connections)", function()
    if SKIP_NGINX then
      pending("SFN_SKIP_NGINX is set")
      return
    end
    outcome_of(CASES[1], "ngx") -- leaves a kept-alive connection in the pool
    local before = drained
    outcome_of(CASES[1], "ngx")
    assert.is_true(drained > before, "the handler drained no pooled connection: is the pool name"
      .. " in spec/nginx/sfn_parity.lua still the one lua/sfn/ngx_transport.lua uses?")
  end)

  for _, case in ipairs(CASES) do
    it(case.name, function()
      local names = {}
      local outcomes = {}
      for _, t in ipairs(TRANSPORTS) do
        if (t ~= "ngx" or not SKIP_NGINX) and not (case.without and case.without[t]) then
          names[#names + 1] = t
          outcomes[t] = outcome_of(case, t)
        end
      end
      if DUMP then
        for _, t in ipairs(names) do
          DUMP:write(json.encode { case = case.name, transport = t, outcome = outcomes[t] }, "\n")
        end
        DUMP:flush()
      end
      for _, t in ipairs(names) do
        assert(not json.encode(outcomes[t]):find("SECRET_LEAKED", 1, true),
          ("%s: a secret leaked over %s:\n%s"):format(case.name, t, differences(outcomes, { t })))
      end
      -- the curl outcome is the one the case expects
      local wrong = subset_mismatch(case.expect, summary(outcomes.curl))
      if KNOWN_WRONG[case.name] then
        assert(wrong ~= nil, ("%s: the curl outcome is the expected one now; take it off KNOWN_WRONG (%s)")
          :format(case.name, KNOWN_WRONG[case.name]))
      else
        assert(wrong == nil, ("%s: the curl outcome is not the expected one: %s\n%s"):format(case.name,
          tostring(wrong), differences(outcomes, { "curl" })))
      end
      local function agree()
        for _, t in ipairs(names) do
          if json.encode(outcomes[t]) ~= json.encode(outcomes.curl) then
            return false
          end
        end
        return true
      end
      local known = KNOWN_DIVERGENT[case.name]
      if known then
        assert(not agree(), ("%s: the transports agree now; take it off KNOWN_DIVERGENT (%s)"):format(case.name,
          known.why))
        -- all else must agree
        for _, t in ipairs(names) do
          drop_field(outcomes[t], known.field)
        end
      end
      assert(agree(), ("%s: the transports disagree%s:\n%s"):format(case.name,
        known and (" beyond " .. known.field) or "", differences(outcomes, names)))
    end)
  end
end)

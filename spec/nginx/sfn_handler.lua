-- The nginx handlers the OpenResty spec drives (spec/70-nginx_spec.lua): list
-- Map Runs from the stand-in and answer JSON. Written the way the README
-- tells users to: `sfn.safe`, errors logged with `tostring(err)`, clients
-- made lazily in each worker (nothing made in init_by_lua is used later).
--
-- Query arguments of /runs:
--   arn          the execution ARN, or just its last part ("runs-250")
--   op           "all" (default: every Map Run, via all_map_runs) or "page"
--                (one list_map_runs call)
--   max_items, page_size, starting_token   pagination for op=all
--   max_results, next_token                params for op=page
--                "describe" (map_run_descriptions), "describe_one"
--                (describe_map_run of map_run), "executions" (every child
--                execution of map_run, with status_filter)
--   map_run, status_filter   for describe_one and executions
--   transport    "auto" (default), "ngx", "curl", "builtin" (our own
--                cosocket client), "resty" (lua-resty-http)
--   server       "plain" (default) or "tls"
--   max_attempts, timeout
local sfn = require "sfn.safe"
local json = require "sfn_json"

local handler = {}

local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

-- Set once in init_by_lua from the rendered nginx.conf: plain strings only.
local settings = {}

function handler.configure(opts)
  for k, v in pairs(opts) do
    settings[k] = v
  end
end

-- Per-worker clients, made on first use in the worker.
local clients = {}

local function transport_option(name)
  if name == nil or name == "" or name == "auto" then
    return nil
  elseif name == "ngx" or name == "curl" then
    return name
  elseif name == "builtin" then
    return function(request)
      return require("sfn.ngx_transport").send_builtin(request)
    end
  elseif name == "resty" then
    return function(request)
      return require("sfn.ngx_transport").send_resty_http(request)
    end
  end
  error("unknown transport " .. tostring(name))
end

local function client_for(args)
  local server = args.server or "plain"
  local endpoint = ({
    plain = settings.plain_url, tls = settings.tls_url, ["tls-ip"] = settings.tls_ip_url,
    ["tls-on-plain"] = settings.tls_on_plain_url, refused = settings.refused_url,
  })[server]
  if not endpoint then
    error("unknown server " .. tostring(server))
  end
  -- a location may name its own CA (see /runs-wrong-ca in nginx.conf)
  -- (no ngx.var in init_worker and timers)
  local has_var, ca_file = pcall(function()
    return ngx.var.sfn_ca_file
  end)
  ca_file = has_var and ca_file or nil
  if ca_file == nil or ca_file == "" then
    ca_file = (server == "tls" or server == "tls-ip") and settings.tls_ca_file or nil
  end
  local key = table.concat({ server, args.transport or "auto", args.max_attempts or "", args.timeout or "",
    ca_file or "" }, "|")
  local client = clients[key]
  if client then
    return client
  end
  local err
  client, err = sfn.new {
    region = "us-east-1",
    endpoint = endpoint,
    -- libcurl verifies against ca_file; cosockets against the location's
    -- lua_ssl_trusted_certificate (ca_file only keeps their pools apart)
    ca_file = ca_file,
    credentials = { access_key_id = settings.key, secret_access_key = settings.secret },
    max_attempts = tonumber(args.max_attempts) or 3,
    timeout = tonumber(args.timeout) or 10,
    connect_timeout = 2,
    transport = transport_option(args.transport),
  }
  if not client then
    return nil, err
  end
  clients[key] = client
  return client
end

-- Which transport the client uses here: "ngx", "curl" or "function".
local function transport_used(client)
  local driver = client.client:_lua_driver()
  local ok, send = pcall(driver.transport, driver)
  if not ok then
    return "unavailable" -- transport = "ngx" where there are no cosockets
  elseif send == nil then
    return "curl"
  elseif send == require("sfn.ngx_transport").send then
    return "ngx"
  end
  return "function"
end

local function error_fields(err)
  if type(err) ~= "table" then
    return { code = "LuaError", message = tostring(err) }
  end
  return {
    code = err.code, message = err.message, status = err.status, request_id = err.request_id,
    retryable = err.retryable, attempts = err.attempts, operation = err.operation,
  }
end

local function failed(err, extra)
  ngx.log(ngx.ERR, tostring(err))
  local out = extra or {}
  out.ok = false
  out.error = error_fields(err)
  out.log = tostring(err)
  out.phase = ngx.get_phase()
  return out
end

--- Lists Map Runs as the query arguments say; returns a table for JSON.
function handler.list(args)
  local arn = args.arn or "runs-3"
  if not arn:find(":", 1, true) then
    arn = PREFIX .. arn
  end
  local ok, client, err = pcall(client_for, args)
  if not ok then
    return failed(client)
  end
  if not client then
    return failed(err)
  end
  local out = { phase = ngx.get_phase(), transport = transport_used(client) }
  local pagination = {
    max_items = tonumber(args.max_items),
    page_size = tonumber(args.page_size),
    starting_token = args.starting_token,
  }
  if args.op == "describe_one" then
    local d
    d, err = client:describe_map_run { mapRunArn = args.map_run }
    if not d then
      return failed(err, out)
    end
    d.ResponseMetadata = nil
    out.ok, out.description = true, d
    return out
  elseif args.op == "describe" or args.op == "executions" then
    local iterate, state
    if args.op == "describe" then
      iterate, state = client:map_run_descriptions({ executionArn = arn }, pagination)
    else
      iterate, state = client:executions({ mapRunArn = args.map_run, statusFilter = args.status_filter },
        pagination)
    end
    local items = {}
    for item in iterate, state do
      item.ResponseMetadata = nil
      items[#items + 1] = item
    end
    if state.error then
      return failed(state.error, out)
    end
    out.ok, out.items, out.count, out.resume_token = true, items, #items, state.resume_token
    return out
  end
  if (args.op or "all") == "page" then
    local page
    page, err = client:list_map_runs {
      executionArn = arn,
      maxResults = tonumber(args.max_results),
      nextToken = args.next_token,
    }
    if not page then
      return failed(err, out)
    end
    out.ok = true
    out.page = page
    return out
  end
  local runs, resume = client:all_map_runs({ executionArn = arn }, {
    max_items = tonumber(args.max_items),
    page_size = tonumber(args.page_size),
    starting_token = args.starting_token,
  })
  if not runs then
    return failed(resume, out)
  end
  out.ok = true
  out.runs = runs
  out.count = #runs
  out.resume_token = resume
  return out
end

local function reply(out)
  ngx.status = out.ok and 200 or 502
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode(out))
end

-- content_by_lua: /runs
function handler.content()
  reply(handler.list(ngx.req.get_uri_args()))
end

-- Results of calls made where no reply can carry them (log phase, timers,
-- init_worker) go to a shared dict, read back with /result?key=.
local function store(key, out)
  local ok, err = ngx.shared.sfn_results:set(key, json.encode(out))
  if not ok then
    ngx.log(ngx.ERR, "storing ", key, ": ", err)
  end
end

function handler.result()
  local key = ngx.var.arg_key or ""
  local value = ngx.shared.sfn_results:get(key)
  if value == nil then
    ngx.status = 404
    ngx.say('{"ok":false,"missing":true}')
    return
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(value)
end

-- set_by_lua: no cosockets, so the blocking libcurl transport.
function handler.set_phase()
  return json.encode(handler.list(ngx.req.get_uri_args()))
end

-- log_by_lua: no cosockets either; the result goes to the shared dict.
function handler.log_phase()
  local args = ngx.req.get_uri_args()
  store(args.key or "log", handler.list(args))
end

-- content_by_lua: starts a timer (cosockets allowed there) that lists.
function handler.timer()
  local args = ngx.req.get_uri_args()
  local ok, err = ngx.timer.at(0, function(premature)
    if not premature then
      store(args.key or "timer", handler.list(args))
    end
  end)
  reply(ok and { ok = true, started = true } or { ok = false, error = { message = err } })
end

-- init_worker_by_lua: no cosockets; lists from the plain stand-in.
function handler.init_worker()
  store("init_worker", handler.list { arn = "runs-3" })
end

-- /fixture/<case>: replies for the transport cases below.
local FIXTURES = {}

function FIXTURES.chunked()
  ngx.header["Content-Type"] = "text/plain"
  for i = 1, 3 do
    ngx.print(("%d"):format(i):rep(4000))
    ngx.flush(true)
  end
  ngx.print("done\n")
end

function FIXTURES.length()
  local body = ("x"):rep(100000)
  ngx.header["Content-Length"] = #body
  ngx.print(body)
end

function FIXTURES.redirect()
  return ngx.redirect("http://127.0.0.1:1/elsewhere", 301)
end

-- 17 MiB, over the 16 MiB cap
local function big(chunked)
  local piece = ("y"):rep(1024 * 1024)
  if not chunked then
    ngx.header["Content-Length"] = 17 * #piece
  end
  for _ = 1, 17 do
    local ok = ngx.print(piece)
    if not ok then
      return
    end
    ngx.flush(true)
  end
end

FIXTURES["big-chunked"] = function() big(true) end
FIXTURES["big-length"] = function() big(false) end

-- Raw replies written on the downstream socket.
local function raw(data)
  ngx.req.read_body()
  local sock = assert(ngx.req.socket(true))
  sock:send(data)
end

FIXTURES.continue = function()
  raw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
end

-- line endings without CR, padded and repeated headers
FIXTURES["lf-only"] = function()
  raw("HTTP/1.1 200 OK\nContent-Length: 2\nX-Pad: \t a b  \nX-Rep: 1\nx-rep: 2\nConnection: close\n\nok")
end

FIXTURES["malformed-header"] = function()
  raw("HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n")
end

FIXTURES["no-status"] = function()
  raw("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n")
end

-- 70 KiB of headers, over the 64 KiB cap
FIXTURES["huge-headers"] = function()
  raw("HTTP/1.1 200 OK\r\n" .. ("X-Filler: " .. ("f"):rep(1000) .. "\r\n"):rep(70) .. "Content-Length: 0\r\n\r\n")
end

-- a header line every 100 ms for 3 s: each read is quick, the attempt is not
FIXTURES.trickle = function()
  ngx.req.read_body()
  local sock = assert(ngx.req.socket(true))
  sock:send("HTTP/1.1 200 OK\r\n")
  for i = 1, 30 do
    ngx.sleep(0.1)
    if not sock:send(("X-Slow-%d: y\r\n"):format(i)) then
      return
    end
  end
  sock:send("Content-Length: 0\r\n\r\n")
end

FIXTURES["close-delimited"] = function()
  raw("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" .. ("z"):rep(5000))
end

function handler.fixture()
  local name = ngx.var.uri:match("^/fixture/(.*)$")
  local f = FIXTURES[name]
  if not f then
    return ngx.exit(404)
  end
  return f()
end

local EXPECTED = {
  chunked = ("1"):rep(4000) .. ("2"):rep(4000) .. ("3"):rep(4000) .. "done\n",
  length = ("x"):rep(100000),
  continue = "ok",
  ["close-delimited"] = ("z"):rep(5000),
  ["lf-only"] = "ok",
}

-- /transport?case=: sends one request with sfn.ngx_transport's own client to
-- /fixture/<case> on this nginx and describes the outcome.
function handler.transport_case()
  local case = ngx.var.arg_case or "chunked"
  local transport = require "sfn.ngx_transport"
  local ok, status, headers, body = pcall(transport.send_builtin, {
    method = "POST", url = settings.self_url .. "/fixture/" .. case,
    headers = { ["X-Test"] = case }, body = "{}", connect_timeout = 2, timeout = tonumber(ngx.var.arg_timeout) or 10,
  })
  local out
  if not ok then
    out = { ok = false, error = error_fields(status), log = tostring(status) }
  elseif status == nil then
    out = { ok = false, error = { code = "nil", message = headers } }
  else
    out = {
      ok = true, status = status, body_len = #body, body_ok = EXPECTED[case] == nil or EXPECTED[case] == body,
      location = headers.location, pad = headers["x-pad"], rep = headers["x-rep"],
    }
  end
  reply(out)
end

function handler.ping()
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode {
    ok = true, worker_pid = ngx.worker.pid(),
    resty_http = require("sfn.ngx_transport").resty_http ~= nil,
  })
end

return handler

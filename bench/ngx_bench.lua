-- luacheck: std ngx_lua
-- The client side of the `ngx` bench, run inside the "client" nginx
-- (bench/nginx-client.conf.template, one worker, ngx_lua on LuaJIT) that
-- bench/run.py starts beside the fixed-reply nginx. Not part of sfn.
--
--   GET /loop?which=sfn|floor&page=r100|r1000&n=N
--        N calls in a row in this worker, timed here with a monotonic clock
--        (benchclock); answers {"which":..,"n":..,"ns_per_call":..}
--   GET /pair?page=r100|r1000&n=N&chunks=C
--        N calls of each, sfn and floor alternating in C blocks each
--        (sfn, floor, floor, sfn, ...), timed here; answers both per-call times
--   GET /one/sfn, /one/floor
--        one call per request, for wrk
--
-- "sfn" is `client:list_map_runs{...}` with `transport = "ngx"`; "floor" is
-- a bare cosocket exchange: the same request bytes sfn sends (captured once
-- from sfn's own socket, below), sent on a pooled connection, the reply's
-- status line, headers and Content-Length body read; no signing, no decoding.
local sfn = require "sfn"
local now = require("benchclock").now

local M = {}

local ARN = "arn:aws:states:us-east-1:123456789012:execution:orders-nightly-reconcile:"
  .. "run-2024-11-24T02-00-00Z-7d3f9a1c"
local PAGES = { r100 = 100, r1000 = 1000 }
local FLOOR_POOL_SIZE = 32

local conf        -- set in the master by M.configure
local state = {}  -- per worker: page name -> { client=, params=, bytes= }
local busy = {}   -- per worker: page name -> true while its setup runs

--- Called from init_by_lua: where the fixed-reply nginx listens, the
-- credentials to sign with.
function M.configure(c)
  conf = c
end

-- Runs f with ngx.socket.tcp handing out sockets whose `send` records what
-- is sent; returns f's results and the bytes.
local function capturing(f)
  local socket = ngx.socket
  local real_tcp = socket.tcp
  local sent = {}
  socket.tcp = function() -- luacheck: ignore 122 (patched on purpose, restored below)
    local sock, err = real_tcp()
    if not sock then
      return nil, err
    end
    return setmetatable({}, {
      __index = function(_, name)
        if name == "send" then
          return function(_, data)
            sent[#sent + 1] = type(data) == "table" and table.concat(data) or data
            return sock:send(data)
          end
        end
        local method = sock[name]
        if type(method) ~= "function" then
          return method
        end
        return function(_, ...)
          return method(sock, ...)
        end
      end,
    })
  end
  local ok, res = pcall(f)
  socket.tcp = real_tcp -- luacheck: ignore 122
  if not ok then
    error(res, 0)
  end
  return res, table.concat(sent)
end

-- This worker's client, parameters and floor bytes for a page, made on first
-- use: one captured sfn call gives the exact request bytes.
local function setup(page)
  local s = state[page]
  if s then
    return s
  end
  while busy[page] do -- another request is capturing: ngx.socket.tcp is patched
    ngx.sleep(0.001)
  end
  if state[page] then
    return state[page]
  end
  busy[page] = true
  local items = assert(PAGES[page], "unknown page")
  local client = sfn.new {
    region = "us-east-1",
    endpoint = conf.fixed .. "/" .. page .. ".json",
    credentials = { access_key_id = conf.key, secret_access_key = conf.secret },
    transport = "ngx",
  }
  local params = { executionArn = ARN, maxResults = items }
  local ok, reply, bytes = pcall(capturing, function()
    return client:list_map_runs(params)
  end)
  busy[page] = nil
  if not ok then
    error(reply, 0)
  end
  assert(#reply.mapRuns == items, "the fixed reply has another number of Map Runs")
  assert(bytes:find("^POST /" .. page .. "%.json HTTP/1%.1\r\n"), "captured no request")
  s = { client = client, params = params, bytes = bytes, items = items }
  state[page] = s
  return s
end

-- One bare exchange: connect (from the pool), send, read the status line and
-- headers line by line, then Content-Length bytes; back into the pool.
-- Returns the body's length.
local function floor_once(bytes)
  local sock = ngx.socket.tcp()
  sock:settimeouts(10000, 60000, 60000)
  local ok, err = sock:connect("127.0.0.1", conf.fixed_port, { pool = "floor", pool_size = FLOOR_POOL_SIZE })
  if not ok then
    error("floor: connect: " .. tostring(err), 0)
  end
  ok, err = sock:send(bytes)
  if not ok then
    error("floor: send: " .. tostring(err), 0)
  end
  local line
  line, err = sock:receive("*l")
  if not line or line:sub(1, 13) ~= "HTTP/1.1 200 " then
    error("floor: status line: " .. tostring(line or err), 0)
  end
  local length
  while true do
    line, err = sock:receive("*l")
    if not line then
      error("floor: headers: " .. tostring(err), 0)
    end
    if line == "" then
      break
    end
    local n = line:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)")
    if n then
      length = tonumber(n)
    end
  end
  if not length then
    error("floor: no Content-Length", 0)
  end
  local body
  body, err = sock:receive(length)
  if not body then
    error("floor: body: " .. tostring(err), 0)
  end
  sock:setkeepalive(60000, FLOOR_POOL_SIZE)
  return #body
end

local runners = {
  sfn = function(s)
    return #s.client:list_map_runs(s.params).mapRuns
  end,
  floor = function(s)
    return floor_once(s.bytes)
  end,
}

local function fail(err)
  ngx.status = 500
  ngx.log(ngx.ERR, "ngx bench: ", tostring(err))
  ngx.say(tostring(err))
  return ngx.exit(500)
end

--- GET /loop: n calls of one kind, timed in this worker.
function M.loop()
  local args = ngx.req.get_uri_args()
  local which, page, n = args.which, args.page or "r100", tonumber(args.n) or 100
  local run = runners[which]
  if not run or not PAGES[page] then
    return fail("which=sfn|floor, page=r100|r1000")
  end
  local ok, err = pcall(function()
    local s = setup(page)
    local warm = math.floor(n / 10) + 1
    for _ = 1, warm do
      run(s)
    end
    collectgarbage()
    local t0 = now()
    for _ = 1, n do
      run(s)
    end
    local t1 = now()
    ngx.header["Content-Type"] = "application/json"
    ngx.say(('{"which":"%s","page":"%s","n":%d,"ns_per_call":%.1f,"request_bytes":%d}')
      :format(which, page, n, (t1 - t0) / n, #s.bytes))
  end)
  if not ok then
    return fail(err)
  end
end

--- GET /pair: sfn and the floor interleaved in this worker, in `chunks`
-- alternating blocks of n/chunks calls each (the order flips every block),
-- so both see the same machine state; answers both per-call times.
function M.pair()
  local args = ngx.req.get_uri_args()
  local page, n, chunks = args.page or "r100", tonumber(args.n) or 100, tonumber(args.chunks) or 10
  if not PAGES[page] then
    return fail("page=r100|r1000")
  end
  local ok, err = pcall(function()
    local s = setup(page)
    local per = math.max(1, math.floor(n / chunks))
    for _ = 1, math.floor(per / 2) + 1 do
      runners.sfn(s)
      runners.floor(s)
    end
    local total = { sfn = 0, floor = 0 }
    collectgarbage()
    for c = 1, 2 * chunks do
      local which = (c % 4 == 1 or c % 4 == 0) and "sfn" or "floor"
      local run = runners[which]
      local t0 = now()
      for _ = 1, per do
        run(s)
      end
      total[which] = total[which] + (now() - t0)
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.say(('{"page":"%s","n":%d,"sfn_ns_per_call":%.1f,"floor_ns_per_call":%.1f,"request_bytes":%d}')
      :format(page, per * chunks, total.sfn / (per * chunks), total.floor / (per * chunks), #s.bytes))
  end)
  if not ok then
    return fail(err)
  end
end

--- GET /one/sfn, /one/floor: one call per request.
function M.one(which)
  local ok, err = pcall(function()
    runners[which](setup("r100"))
  end)
  if not ok then
    return fail(err)
  end
  ngx.say("ok")
end

return M

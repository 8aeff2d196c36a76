--- The OpenResty transport: sends one signed request over `ngx.socket.tcp`
-- cosockets, so a ListMapRuns call yields to the nginx event loop instead of
-- blocking the worker. `sfn.driver` picks it in the phases that allow
-- cosockets (rewrite, access, content, timer, ssl_*); elsewhere the blocking
-- libcurl transport is used.
--
-- When lua-resty-http is installed (`require "resty.http"` works), it does
-- the HTTP; otherwise a small HTTP/1.1 client here does: Content-Length and
-- chunked replies, a 16 MiB reply cap, connections kept in the cosocket pool
-- (`setkeepalive`) when the reply allows it. Redirects are never followed.
--
-- TLS: `sslhandshake` with verification on and SNI. Cosockets verify against
-- nginx's `lua_ssl_trusted_certificate` (and `lua_ssl_verify_depth`), not
-- against the client's `ca_file`, which only the libcurl transport reads.
-- Host names need a `resolver` in nginx.conf.
--
--     local send = require("sfn.ngx_transport").send
--     local status, headers, body, reason = send {
--       method = "POST", url = "https://states.us-east-1.amazonaws.com/",
--       headers = { ... }, body = "...", connect_timeout = 10, timeout = 60,
--     }
--
-- @module sfn.ngx_transport
local errors = require "sfn.errors"

local M = { _VERSION = "0.1.0" }

--- Largest reply accepted, body and headers together (bytes).
M.MAX_REPLY = 16 * 1024 * 1024
--- Largest status line plus header section accepted (bytes).
M.MAX_HEADER = 64 * 1024
--- How long an idle pooled connection is kept (milliseconds).
M.KEEPALIVE_TIMEOUT = 60000
--- Connections kept per pool (per scheme, host, port and TLS name).
M.POOL_SIZE = 32

local ngx = rawget(_G, "ngx")
local tonumber, tostring, type, pairs = tonumber, tostring, type, pairs
local concat = table.concat
local floor = math.floor
local byte, sub, find, lower = string.byte, string.sub, string.find, string.lower

local has_resty_http, resty_http = pcall(require, "resty.http")
if not has_resty_http or type(resty_http) ~= "table" or type(resty_http.new) ~= "function" then
  resty_http = nil
end
--- The lua-resty-http module when installed, else nil (then our own client is used).
M.resty_http = resty_http

-- Errors -------------------------------------------------------------------

local function transport_error(message, retryable)
  return errors.new("TransportError", message, { retryable = retryable ~= false })
end

local function timeout_error(message)
  return errors.new("TimeoutError", message, { retryable = true })
end

local function response_error(message)
  return errors.new("ResponseError", message, { retryable = false })
end

-- A cosocket error string as an sfn.Error. `what` says which step failed.
local function socket_error(what, where, err)
  err = tostring(err)
  local message = ("ngx: %s %s: %s"):format(what, where, err)
  if err == "timeout" then
    return timeout_error("timed out: " .. message)
  end
  if err:find("no resolver defined", 1, true) then
    return transport_error(message .. " (host names need a `resolver` directive in nginx.conf)", false)
  end
  -- ngx_lua reports a failed verification as "<X509 code>: <text>"
  -- ("20: unable to get local issuer certificate"), or names the certificate;
  -- that will not heal by retrying.
  if err:match("^%d+: ") or err:find("certificate", 1, true) then
    return transport_error(message, false)
  end
  return transport_error(message, true)
end

-- URL and request checks ---------------------------------------------------

-- Splits an http(s) URL: scheme, host (brackets removed), port, path?query.
local function parse_url(url)
  if type(url) ~= "string" then
    return nil, "url must be a string"
  end
  local scheme, authority, rest = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then
    return nil, "not an http(s) URL"
  end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "unsupported scheme " .. scheme
  end
  if authority:find("@", 1, true) then
    return nil, "user info in the URL is not supported"
  end
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or host == "" then
    return nil, "no host"
  end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  if port < 1 or port > 65535 then
    return nil, "bad port"
  end
  rest = rest:gsub("#.*$", "")
  if rest == "" then
    rest = "/"
  elseif rest:sub(1, 1) == "?" then
    rest = "/" .. rest
  end
  if rest:find("[%s%c]") then
    return nil, "spaces or control characters in the path"
  end
  return scheme, host, port, rest
end

-- f with its results kept per argument, up to `size` of them (then all
-- are dropped): a program sends to the same few URLs, with the same few
-- header names, on every call. A nil result (and its reason) is not kept.
local function memoize(size, f)
  local cache, count = {}, 0
  return function(key)
    local v = cache[key]
    if v ~= nil then
      return v
    end
    local why
    v, why = f(key)
    if v == nil then
      return nil, why
    end
    if count >= size then
      cache, count = {}, 0
    end
    cache[key] = v
    count = count + 1
    return v
  end
end

-- The parsed URL as { scheme=, host=, port=, path=, where= "host:port",
-- address= (what to connect to: "localhost" as 127.0.0.1, no brackets) };
-- or nil, why. Kept per URL string with what `open` derives from it.
local parsed_url = memoize(32, function(url)
  local scheme, host, port, path = parse_url(url)
  if not scheme then
    return nil, host
  end
  -- "localhost" is loopback (RFC 6761): no resolver needed for it; TLS
  -- still checks the certificate against the name "localhost".
  return {
    scheme = scheme, host = host, port = port, path = path, where = host .. ":" .. port,
    address = host:lower() == "localhost" and "127.0.0.1" or host,
  }
end)

local function to_ms(seconds, default)
  seconds = tonumber(seconds) or default
  local ms = floor(seconds * 1000 + 0.5)
  if ms < 1 then
    ms = 1
  end
  return ms
end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- The connection pool name: one pool per endpoint and TLS setting, so a plain
-- connection is never handed to an https request, to another SNI name, or to
-- a client that names another CA. (Pools are per worker and shared by every
-- location: a connection verified under one location's
-- lua_ssl_trusted_certificate may serve another location with the same
-- pool name.)
local function pool_name(scheme, host, port, ca_file)
  if scheme ~= "https" then
    return ("sfn:http:%s:%d"):format(host, port)
  end
  return ("sfn:https:%s:%d:verify:%s"):format(host, port, type(ca_file) == "string" and ca_file or "")
end

-- Header names we write ourselves or that would break framing.
local RESERVED = { ["content-length"] = true, ["transfer-encoding"] = true, ["connection"] = true }

-- Bytes allowed in a header name: RFC 9110 tchar, [%w!#$%%&'*+.^_`|~-].
local TCHAR = {}
for b = 48, 57 do TCHAR[b] = true end
for b = 65, 90 do TCHAR[b] = true end
for b = 97, 122 do TCHAR[b] = true end
for i = 1, #"!#$%&'*+.^_`|~-" do TCHAR[byte("!#$%&'*+.^_`|~-", i)] = true end

-- The lower-cased name when `name` is a valid header name, else nil; kept
-- per name.
local header_name = memoize(64, function(name)
  if type(name) ~= "string" or name == "" then
    return nil
  end
  for i = 1, #name do
    if not TCHAR[byte(name, i)] then
      return nil
    end
  end
  return lower(name)
end)

-- Whether `method` is one or more upper-case letters (^%u+$).
local function good_method(method)
  if method == "POST" or method == "GET" then
    return true
  end
  if type(method) ~= "string" or method == "" then
    return false
  end
  for i = 1, #method do
    local b = byte(method, i)
    if b < 65 or b > 90 then
      return false
    end
  end
  return true
end

-- The request head: request line, the given headers, Content-Length; then
-- the body. One pass over the headers, one concatenation.
local function request_head(request, path, host, port, scheme)
  local method = request.method or "POST"
  if not good_method(method) then
    return nil, "bad method"
  end
  local body = request.body or ""
  if type(body) ~= "string" then
    return nil, "body must be a string"
  end
  local buf = { method, " ", path, " HTTP/1.1\r\n" }
  local n = 4
  local has_host = false
  for name, value in pairs(request.headers or {}) do
    local l = header_name(name)
    if not l then
      return nil, "bad header name " .. tostring(name)
    end
    if type(value) ~= "string" then
      value = tostring(value)
    end
    if find(value, "\r", 1, true) or find(value, "\n", 1, true) or find(value, "\0", 1, true) then
      return nil, "header " .. name .. " holds a line break"
    end
    if l == "host" then
      has_host = true
    end
    if not RESERVED[l] then
      buf[n + 1], buf[n + 2], buf[n + 3], buf[n + 4] = name, ": ", value, "\r\n"
      n = n + 4
    end
  end
  if not has_host then
    local default_port = (scheme == "https" and 443 or 80)
    local h = find(host, ":", 1, true) and ("[" .. host .. "]") or host
    buf[n + 1] = "Host: " .. h .. (port == default_port and "" or (":" .. port)) .. "\r\n"
    n = n + 1
  end
  buf[n + 1], buf[n + 2], buf[n + 3], buf[n + 4] = "Content-Length: ", #body, "\r\n\r\n", body
  return concat(buf, "", 1, n + 4)
end

-- Our own HTTP/1.1 client ------------------------------------------------------

-- The read timeout follows the attempt's deadline: before every read it is
-- set to what is left, so a server trickling header lines or chunks still
-- runs out of time. `armed` is the nginx clock (`ngx.now()`, cached) when
-- it was last set. That clock moves only when nginx runs its event loop,
-- i.e. after this request yielded (a read that had to wait); while it stands
-- still the timeout set then is still exact, and nothing is done: lines
-- already buffered cost no clock update and no `settimeout`. (With nginx's
-- `timer_resolution` the clock lags by up to that interval, and so may the
-- deadline; without it, as by default, nginx updates it after every wait.)
-- Returns the clock value it is armed at, or nil, TimeoutError.
local function rearm(sock, deadline, where, armed)
  local t = ngx.now()
  if t == armed then
    return t
  end
  local left = deadline - t
  if left <= 0 then
    return nil, timeout_error("timed out: ngx: reading from " .. where .. ": the attempt's time ran out")
  end
  sock:settimeout(to_ms(left, 0))
  return t
end

-- One line; returns line, armed; or nil, err, the cosocket's error string.
local function read_line(sock, deadline, where, what, armed)
  local err
  armed, err = rearm(sock, deadline, where, armed)
  if not armed then
    return nil, err
  end
  local line, rerr = sock:receive("*l")
  if not line then
    return nil, socket_error("reading " .. what .. " from", where, rerr), rerr
  end
  return line, armed
end

-- n bytes; returns data, armed; or nil, err.
local function read_exactly(sock, n, deadline, where, what, armed)
  local err
  armed, err = rearm(sock, deadline, where, armed)
  if not armed then
    return nil, err
  end
  local data, rerr, partial = sock:receive(n)
  if not data then
    if rerr == "closed" then
      return nil, transport_error(("ngx: connection to %s closed after %d of %d bytes of %s")
        :format(where, partial and #partial or 0, n, what), true)
    end
    return nil, socket_error("reading " .. what .. " from", where, rerr)
  end
  return data, armed
end

local function digit(b)
  return b ~= nil and b >= 48 and b <= 57
end

-- A status line, as ^HTTP/(%d%.%d) (%d%d%d) ?(.*)$ would split it (without
-- a pattern: string.match stops LuaJIT's compiler): version, status, reason.
local function status_line(line)
  if sub(line, 1, 5) ~= "HTTP/" then
    return nil
  end
  local v1, dot, v2, sp, d1, d2, d3, sp2 = byte(line, 6, 13)
  if not (digit(v1) and dot == 46 and digit(v2) and sp == 32 and digit(d1) and digit(d2) and digit(d3)) then
    return nil
  end
  return sub(line, 6, 8), (d1 - 48) * 100 + (d2 - 48) * 10 + (d3 - 48), sub(line, sp2 == 32 and 14 or 13)
end

-- %s: what may surround a header's name and value.
local SPACE = { [9] = true, [10] = true, [11] = true, [12] = true, [13] = true, [32] = true }

-- A header line, as ^([^:%s]+):%s*(.-)%s*$ would split it: name, value; or
-- nil. Linear.
local function header_line(line)
  local colon = find(line, ":", 1, true)
  if not colon or colon == 1 then
    return nil
  end
  for i = 1, colon - 1 do
    if SPACE[byte(line, i)] then
      return nil
    end
  end
  local i, j = colon + 1, #line
  while i <= j and SPACE[byte(line, i)] do
    i = i + 1
  end
  while j >= i and SPACE[byte(line, j)] do
    j = j - 1
  end
  return sub(line, 1, colon - 1), sub(line, i, j)
end

-- Reads the status line and headers. Returns status, reason, headers,
-- version, header bytes, armed; or nil, err, stale (true when nothing at all
-- came back).
local function read_head(sock, deadline, where, armed)
  local size = 0
  local max = M.MAX_HEADER
  while true do
    local line, err, raw = read_line(sock, deadline, where, "the status line", armed)
    if not line then
      local gone = raw == "closed" or (type(raw) == "string" and find(raw, "reset", 1, true) ~= nil)
      return nil, err, gone and size == 0
    end
    armed = err
    size = size + #line + 2
    local version, status, reason = status_line(line)
    if not status then
      return nil, transport_error(("ngx: %s sent no HTTP status line"):format(where), true)
    end
    local headers = {}
    while true do
      line, err = read_line(sock, deadline, where, "headers", armed)
      if not line then
        return nil, err
      end
      armed = err
      size = size + #line + 2
      if size > max then
        return nil, response_error(("reply headers larger than %d bytes"):format(max))
      end
      if line == "" then
        break
      end
      local name, value = header_line(line)
      if not name then
        return nil, response_error(("ngx: %s sent a malformed header line"):format(where))
      end
      name = lower(name)
      local old = headers[name]
      headers[name] = old and (old .. ", " .. value) or value
    end
    -- 1xx replies (100 Continue, 103 Early Hints) come before the real one.
    if status >= 200 or status == 101 then
      return status, reason, headers, version, size, armed
    end
  end
end

local function read_chunked(sock, deadline, where, budget, armed)
  local parts, total = {}, 0
  while true do
    local line, err = read_line(sock, deadline, where, "a chunk size", armed)
    if not line then
      return nil, err
    end
    armed = err
    local hex = line:match("^%s*(%x+)%s*;?.*$")
    if not hex or #hex > 8 then
      return nil, transport_error(("ngx: %s sent a bad chunk size"):format(where), true)
    end
    local n = tonumber(hex, 16)
    if n == 0 then
      -- trailers, up to the empty line
      repeat
        line, err = read_line(sock, deadline, where, "trailers", armed)
        if not line then
          return nil, err
        end
        armed = err
      until line == ""
      return concat(parts)
    end
    total = total + n
    if total > budget then
      return nil, response_error(("reply larger than %d bytes"):format(M.MAX_REPLY))
    end
    local data
    data, err = read_exactly(sock, n, deadline, where, "a chunk", armed)
    if not data then
      return nil, err
    end
    armed = err
    parts[#parts + 1] = data
    line, err = read_line(sock, deadline, where, "a chunk end", armed)
    if not line then
      return nil, err
    end
    armed = err
    if line ~= "" then
      return nil, transport_error(("ngx: %s sent a malformed chunk"):format(where), true)
    end
  end
end

-- Body up to the connection's end (no length given): never reusable.
local function read_to_close(sock, deadline, where, budget, armed)
  local parts, total = {}, 0
  while true do
    local err
    armed, err = rearm(sock, deadline, where, armed)
    if not armed then
      return nil, err
    end
    local data, rerr, partial = sock:receive(8192)
    data = data or partial
    if data and #data > 0 then
      total = total + #data
      if total > budget then
        return nil, response_error(("reply larger than %d bytes"):format(M.MAX_REPLY))
      end
      parts[#parts + 1] = data
    end
    if rerr == "closed" then
      return concat(parts)
    elseif rerr then
      return nil, socket_error("reading the body from", where, rerr)
    end
  end
end

-- Whether s is one or more ASCII digits (^%d+$).
local function all_digits(s)
  local n = #s
  if n == 0 then
    return false
  end
  for i = 1, n do
    local b = byte(s, i)
    if b < 48 or b > 57 then
      return false
    end
  end
  return true
end

-- One exchange on a connected socket whose read timeout was set at clock
-- `armed` (or nil). Returns status, headers, body, reason, reusable; or nil,
-- err, stale.
local function exchange(sock, head, deadline, where, method, armed)
  local sent, err = sock:send(head)
  if not sent then
    return nil, socket_error("sending to", where, err), err == "closed" or err == "broken pipe"
      or (type(err) == "string" and find(err, "reset", 1, true) ~= nil)
  end
  local status, reason, headers, version, size
  status, reason, headers, version, size, armed = read_head(sock, deadline, where, armed)
  if not status then
    return nil, reason, headers -- err, stale
  end
  local connection = headers["connection"]
  local reusable
  if version == "1.0" then
    reusable = connection ~= nil and find(lower(connection), "keep-alive", 1, true) ~= nil
  else
    reusable = connection == nil or find(lower(connection), "close", 1, true) == nil
  end
  local budget = M.MAX_REPLY - size
  local body
  local te = headers["transfer-encoding"]
  local length = headers["content-length"]
  if method == "HEAD" or status == 204 or status == 304 then
    body = ""
  elseif te and te:lower() ~= "identity" then
    if not te:lower():find("chunked%s*$") then
      return nil, response_error(("ngx: %s sent an unsupported transfer-encoding %q"):format(where, te))
    end
    body, err = read_chunked(sock, deadline, where, budget, armed)
  elseif length then
    local n = all_digits(length) and tonumber(length)
    if not n then
      return nil, response_error(("ngx: %s sent a bad Content-Length"):format(where))
    end
    if n > budget then
      return nil, response_error(("reply larger than %d bytes"):format(M.MAX_REPLY))
    end
    if n == 0 then
      body = ""
    else
      body, err = read_exactly(sock, n, deadline, where, "the body", armed)
    end
  else
    reusable = false
    body, err = read_to_close(sock, deadline, where, budget, armed)
  end
  if not body then
    return nil, err
  end
  return status, headers, body, reason, reusable
end

-- The cosocket connect options of a URL and CA: its pool; kept in the
-- parsed URL (see `parsed_url`) for the last CA it was used with.
local function pool_options(u, ca_file)
  local opts = u.pool_options
  if not opts or (u.scheme == "https" and u.pool_ca ~= ca_file) then
    opts = { pool = pool_name(u.scheme, u.host, u.port, ca_file) }
    u.pool_options, u.pool_ca = opts, ca_file
  end
  -- connect reads the table before it yields: sharing it is safe
  opts.pool_size = M.POOL_SIZE
  return opts
end

-- Connects (or takes a pooled connection) and does the TLS handshake.
-- `u` is the parsed URL (`parsed_url`).
local function open(u, request)
  local sock, err = ngx.socket.tcp()
  if not sock then
    return nil, transport_error("ngx: no cosocket: " .. tostring(err), false)
  end
  local connect_ms = to_ms(request.connect_timeout, 10)
  local timeout_ms = to_ms(request.timeout, 60)
  sock:settimeouts(connect_ms, timeout_ms, timeout_ms)
  local ok
  local address = u.address
  if find(address, ":", 1, true) then
    address = "[" .. address .. "]" -- IPv6, as nginx parses it
  end
  ok, err = sock:connect(address, u.port, pool_options(u, request.ca_file))
  if not ok then
    return nil, socket_error("connecting to", u.where, err)
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  if u.scheme == "https" and not reused then
    -- verification on; SNI and the host-name check use the URL's host.
    -- ngx_lua checks DNS names only: an IP address endpoint fails with
    -- "certificate host mismatch".
    ok, err = sock:sslhandshake(nil, u.host, true)
    if not ok then
      sock:close()
      return nil, socket_error("TLS handshake with", u.where, err)
    end
  end
  return sock, nil, reused
end

-- Why a request cannot be sent here, or nil when it can.
local function unsendable(request)
  if not ngx then
    return "sfn.ngx_transport needs OpenResty (ngx_lua)"
  end
  if type(request) ~= "table" then
    return "request must be a table"
  end
end

local function send_builtin(request)
  local why = unsendable(request)
  if why then
    return nil, why
  end
  local u, uerr = parsed_url(request.url)
  if not u then
    return nil, "bad url: " .. uerr
  end
  local head, herr = request_head(request, u.path, u.host, u.port, u.scheme)
  if not head then
    return nil, herr
  end
  local where = u.where
  local start = now()
  local deadline = start + (tonumber(request.timeout) or 60)
  -- A pooled connection the server has closed in the meantime fails before
  -- any reply byte: then once more on a fresh connection (ListMapRuns only
  -- reads, so resending is safe), as libcurl does.
  for _ = 1, 3 do
    local sock, err, reused = open(u, request)
    if not sock then
      error(err, 0)
    end
    -- `open` set the read timeout to the whole attempt: exact while the
    -- clock still reads `start`. On failure: nil, err, stale.
    local status, headers, body, reason, reusable = exchange(sock, head, deadline, where, request.method, start)
    if status then
      if reusable then
        local ok = sock:setkeepalive(M.KEEPALIVE_TIMEOUT, M.POOL_SIZE)
        if not ok then
          sock:close()
        end
      else
        sock:close()
      end
      return status, headers, body, reason
    end
    sock:close()
    if not (reused and body) then
      error(headers, 0)
    end
  end
  error(transport_error("ngx: " .. where .. " closed three connections in a row before replying", true), 0)
end

-- lua-resty-http -------------------------------------------------------------

local function send_resty_http(request)
  local why = unsendable(request)
  if why then
    return nil, why
  end
  local http = M.resty_http
  if not http then
    return nil, "lua-resty-http is not installed"
  end
  local u, uerr = parsed_url(request.url)
  if not u then
    return nil, "bad url: " .. uerr
  end
  local scheme, host, port, path = u.scheme, u.host, u.port, u.path
  local body = request.body or ""
  if type(body) ~= "string" then
    return nil, "body must be a string"
  end
  local where = u.where
  local deadline = now() + (tonumber(request.timeout) or 60)
  local headers = {}
  for name, value in pairs(request.headers or {}) do
    if type(name) == "string" and not RESERVED[name:lower()] then
      headers[name] = value
    end
  end
  headers["Content-Length"] = tostring(#body)

  local httpc = http.new()
  local timeout_ms = to_ms(request.timeout, 60)
  httpc:set_timeouts(to_ms(request.connect_timeout, 10), timeout_ms, timeout_ms)
  local version = tonumber((tostring(http._VERSION or "0")):match("^(%d+%.%d+)")) or 0
  local address = u.address
  local ok, err
  if version >= 0.16 then
    ok, err = httpc:connect {
      scheme = scheme, host = address, port = port,
      pool = pool_name(scheme, host, port, request.ca_file), pool_size = M.POOL_SIZE,
      ssl_verify = true, ssl_server_name = host,
    }
  else
    ok, err = httpc:connect(address, port, {
      pool = pool_name(scheme, host, port, request.ca_file), pool_size = M.POOL_SIZE,
    })
    if ok and scheme == "https" and (httpc.sock:getreusedtimes() or 0) == 0 then
      ok, err = httpc:ssl_handshake(nil, host, true)
    end
  end
  if not ok then
    httpc:close()
    error(socket_error(scheme == "https" and "connecting (TLS) to" or "connecting to", where, err), 0)
  end
  local res
  res, err = httpc:request { method = request.method or "POST", path = path, headers = headers, body = body }
  if not res then
    httpc:close()
    error(socket_error("exchanging with", where, err), 0)
  end
  local parts, total = {}, 0
  local reader = res.body_reader
  if res.has_body ~= false and reader then
    while true do
      local left = deadline - now()
      if left <= 0 then
        httpc:close()
        error(timeout_error("timed out: ngx: reading the body from " .. where), 0)
      end
      httpc.sock:settimeout(to_ms(left, 0))
      local chunk, rerr = reader(65536)
      if rerr then
        httpc:close()
        error(socket_error("reading the body from", where, rerr), 0)
      end
      if not chunk then
        break
      end
      total = total + #chunk
      if total > M.MAX_REPLY then
        httpc:close()
        error(response_error(("reply larger than %d bytes"):format(M.MAX_REPLY)), 0)
      end
      parts[#parts + 1] = chunk
    end
  end
  -- resty.http pools the connection only when the reply allowed keep-alive.
  ok = httpc:set_keepalive(M.KEEPALIVE_TIMEOUT, M.POOL_SIZE)
  if not ok then
    httpc:close()
  end
  local out = {}
  for name, value in pairs(res.headers or {}) do
    if type(value) == "table" then
      value = concat(value, ", ")
    end
    out[name:lower()] = value
  end
  return res.status, out, concat(parts), res.reason
end

--- Sends one request over cosockets.
-- @tparam table request { method=, url=, headers={name=value}, body=,
--   connect_timeout= seconds, timeout= seconds, ca_file= (names the pool only:
--   cosockets verify against lua_ssl_trusted_certificate) }
-- @treturn integer status
-- @treturn table headers, lower-case names
-- @treturn string body
-- @treturn string reason phrase
-- @raise TransportError (connect, TLS, reset, closed mid-reply), TimeoutError,
--   ResponseError (reply over `MAX_REPLY`); returns nil, message for a
--   request it cannot send (bad URL or header)
function M.send(request)
  if M.resty_http then
    return send_resty_http(request)
  end
  return send_builtin(request)
end

--- Our own client, even when lua-resty-http is installed.
M.send_builtin = send_builtin
--- lua-resty-http's client; returns nil, message when it is not installed.
M.send_resty_http = send_resty_http
-- for tests
M._parse_url = parse_url

return M

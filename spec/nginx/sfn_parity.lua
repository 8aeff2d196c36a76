-- One parity case, run the same way wherever it runs: in busted over the
-- libcurl transport or a function transport, and in nginx over cosockets
-- (spec/56-parity_spec.lua drives all three). A case says what to call and
-- how to build the client; `run` makes the client, makes the call and turns
-- everything observable into plain data (no request ids, no secrets, no
-- timings), so that equal behaviour gives equal tables.
--
--   local parity = require "sfn_parity"   (or dofile("spec/nginx/sfn_parity.lua"))
--   local outcome = parity.run(require "sfn", case, { endpoint = url, transport = t })
--
-- A case (plain JSON-able data, it travels to nginx as JSON):
--   name        label
--   exec        execution name: executionArn = PREFIX .. exec, unless params
--               carries its own executionArn or no_arn is true
--   call        "page" (list_map_runs), "pages" (list_map_runs_pages) or
--               "items" (map_runs)
--   params      extra ListMapRuns params (maxResults, nextToken, bad keys...)
--   pagination  { max_items=, page_size=, starting_token= } for pages/items
--   endpoint_path  appended to the stand-in's URL (another path: UnknownOperationException)
--   endpoint_url   instead of the stand-in's URL (a closed port)
--   options     sfn.new options: max_attempts, retry_mode, timeout, connect_timeout
--   credentials "static" (a table, the default), "function" (counts its
--               calls; a refresh brings the rotated key), "failing" (a function that raises), "fails-on-refresh"
--               (raises when asked to refresh), "unknown-key" or
--               "wrong-secret" (static, refused by the stand-in)
--   calls       how many times to make the call on the one client (default 1)
--   warmup      true: a good call (runs-1) on the client first, so that the
--               case starts on a kept-alive connection
-- (the stand-in side of a case, fault and clock skew, is set by the spec).
local M = {}

M.KEY = "AKIDEXAMPLE"
M.SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
M.TOKEN = "FQoGZXIvYXdzEXAMPLEparitysessiontoken"
-- what a "function" credentials source returns when asked to refresh
M.ROTATED_KEY = "AKIDROTATEDEXAMPLE"
M.ROTATED_TOKEN = "FQoGZXIvYXdzEXAMPLErotatedsessiontoken"
M.WRONG_SECRET = "wrongwrongwrongwrongwrongwrongwrongwrong"
M.REGION = "us-east-1"
M.PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

-- Messages of errors that no reply produced name the I/O layer's own words
-- (libcurl's "Recv failure: ..." against ngx_lua's "closed"): only their
-- presence is compared.
M.IO_CODES = { TransportError = true, TimeoutError = true }

local function copy(t)
  local out = {}
  for k, v in pairs(t) do
    out[k] = type(v) == "table" and copy(v) or v
  end
  return out
end

local function present(v)
  return v ~= nil and "present" or "absent"
end

--- A service message without what changes from one second to the next: the
-- stand-in quotes request times, credential scopes and hashes of them.
function M.timeless(message)
  return (message:gsub("%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ", "<amz-date>")
    :gsub("%d%d%d%d%d%d%d%d(/[%w-]+/[%w-]+/aws4_request)", "<date>%1")
    :gsub(("%x"):rep(64), "<sha256>"))
end

--- Every field of an sfn.Error as plain data (request_id: its presence).
function M.error_view(sfn, e)
  if not sfn.is_error(e) then
    return { not_an_sfn_error = type(e), text = tostring(e) }
  end
  local v = {}
  for k, x in pairs(e) do
    local t = type(x)
    if t == "string" or t == "number" or t == "boolean" then
      v[k] = x
    else
      v[k] = "<" .. t .. ">"
    end
  end
  -- secrets: looked for in every raw field and in tostring(e), before the
  -- messages are normalized below
  local leaks = {}
  for _, secret in ipairs { M.SECRET, M.TOKEN, M.ROTATED_TOKEN, M.WRONG_SECRET } do
    for k, x in pairs(v) do
      if type(x) == "string" and x:find(secret, 1, true) then
        leaks[#leaks + 1] = tostring(k)
      end
    end
    if tostring(e):find(secret, 1, true) then
      leaks[#leaks + 1] = "tostring"
    end
  end
  if #leaks > 0 then
    table.sort(leaks)
    v.SECRET_LEAKED_IN = table.concat(leaks, ",")
  end
  v.request_id = present(e.request_id)
  if M.IO_CODES[e.code] and type(e.message) == "string" then
    v.message = e.message ~= "" and "<I/O message>" or ""
  elseif type(e.message) == "string" then
    v.message = M.timeless(e.message)
  end
  return v
end

--- A page as plain data (RequestId: its presence).
function M.page_view(page)
  if type(page) ~= "table" then
    return { not_a_page = type(page) }
  end
  local v = copy(page)
  if type(v.ResponseMetadata) == "table" then
    v.ResponseMetadata.RequestId = present(v.ResponseMetadata.RequestId)
  end
  return v
end

--- The params a case sends.
function M.params(case)
  local p = copy(case.params or {})
  if p.executionArn == nil and not case.no_arn then
    p.executionArn = M.PREFIX .. (case.exec or "runs-3")
  end
  return p
end

--- Makes the case's call once on client; its page(s) or error as plain data.
function M.call(sfn, client, case)
  local out = {}
  local params = M.params(case)
  local call = case.call or "page"
  if call == "page" then
    local ok, page = pcall(client.list_map_runs, client, params)
    if ok then
      out.page = M.page_view(page)
    else
      out.error = M.error_view(sfn, page)
    end
  elseif call == "pages" or call == "items" then
    local list = {}
    out[call] = list
    local pager
    local ok, err = pcall(function()
      -- iterator, pager, control (C and the Lua driver alike: the pager is the state)
      local iterate, control
      if call == "pages" then
        iterate, pager, control = client:list_map_runs_pages(params, case.pagination)
      else
        iterate, pager, control = client:map_runs(params, case.pagination)
      end
      while true do
        local x = iterate(pager, control)
        if x == nil then
          break
        end
        control = x
        list[#list + 1] = call == "pages" and M.page_view(x) or copy(x)
      end
    end)
    if not ok then
      out.error = M.error_view(sfn, err)
    end
    if pager ~= nil then
      local rok, resume = pcall(function() return pager.resume_token end)
      if rok then
        out.resume_token = resume
      else
        out.resume_token = "<unreadable: " .. tostring(resume) .. ">"
      end
    end
  else
    error("parity case " .. tostring(case.name) .. ": unknown call " .. tostring(call))
  end
  return out
end

--- Runs a case; returns its outcome as plain data.
-- @param sfn the `sfn` module
-- @tparam table env { endpoint=, transport= ("curl", "ngx" or a function) }
function M.run(sfn, case, env)
  local seen = { sleeps = 0, attempts = {} }
  local opts = {
    region = M.REGION,
    endpoint = case.endpoint_url or (env.endpoint .. (case.endpoint_path or "")),
    transport = env.transport,
    sleep = function() seen.sleeps = seen.sleeps + 1 end,
    log = function(r)
      -- no secret in a log record (Authorization and the token are redacted)
      local strings = {}
      for _, x in pairs(r) do
        strings[#strings + 1] = x
      end
      for _, x in pairs(type(r.headers) == "table" and r.headers or {}) do
        strings[#strings + 1] = x
      end
      for _, x in ipairs(strings) do
        for _, secret in ipairs { M.SECRET, M.TOKEN, M.ROTATED_TOKEN, M.WRONG_SECRET } do
          if type(x) == "string" and x:find(secret, 1, true) then
            seen.SECRET_LEAKED_IN_LOG = true
          end
        end
      end
      if r.event then
        seen.attempts[#seen.attempts + 1] = "event:" .. tostring(r.event)
      else
        seen.attempts[#seen.attempts + 1] = ("%s %s %s"):format(tostring(r.attempt), tostring(r.decision),
          tostring(r.error_code or r.status))
      end
    end,
  }
  for k, x in pairs(case.options or {}) do
    opts[k] = x
  end
  local creds = { access_key_id = M.KEY, secret_access_key = M.SECRET, session_token = M.TOKEN }
  if case.credentials == "unknown-key" then
    creds.access_key_id = "AKIDUNKNOWNEXAMPLE"
  elseif case.credentials == "wrong-secret" then
    creds.secret_access_key = M.WRONG_SECRET
  end
  local kind = case.credentials or "static"
  if kind == "function" or kind == "failing" or kind == "fails-on-refresh" then
    seen.credential_calls, seen.forced_refreshes = 0, 0
    opts.credentials = function(force)
      seen.credential_calls = seen.credential_calls + 1
      if force then
        seen.forced_refreshes = seen.forced_refreshes + 1
      end
      if kind == "failing" or (kind == "fails-on-refresh" and force) then
        error("the vault is sealed")
      end
      if force then
        return { access_key_id = M.ROTATED_KEY, secret_access_key = M.SECRET, session_token = M.ROTATED_TOKEN }
      end
      return copy(creds)
    end
  else
    opts.credentials = creds
  end

  local ok, client = pcall(sfn.new, opts)
  if not ok then
    return { new_error = M.error_view(sfn, client) }
  end
  -- `calls` calls on one client (its retry quota and clock offset carry
  -- over): the outcome is the last one's, the attempt log covers them all
  if case.warmup then
    -- one good call first: the next attempt finds a kept-alive connection
    pcall(client.list_map_runs, client, { executionArn = M.PREFIX .. "runs-1" })
  end
  local out
  for _ = 1, case.calls or 1 do
    out = M.call(sfn, client, case)
  end

  local state = client:retry_state()
  out.retry = {
    mode = state.mode,
    quota = state.quota,
    -- the server's clock minus ours, in whole minutes (the skew cases move it 15)
    clock_offset_minutes = math.floor((state.clock_offset or 0) / 60 + 0.5),
  }
  if opts.retry_mode == "adaptive" then
    -- the rate limiter's waits depend on real time (half-second buckets):
    -- only that every retry slept is compared
    local retries = 0
    for _, line in ipairs(seen.attempts) do
      if line:find(" retry ", 1, true) then
        retries = retries + 1
      end
    end
    out.sleeps = seen.sleeps >= retries and "adaptive: a sleep for every retry" or "adaptive: a retry without sleep"
  else
    out.sleeps = seen.sleeps
  end
  out.attempt_log = seen.attempts
  out.SECRET_LEAKED_IN_LOG = seen.SECRET_LEAKED_IN_LOG
  out.credential_calls = seen.credential_calls
  out.forced_refreshes = seen.forced_refreshes
  pcall(client.close, client)
  return out
end

-- nginx: a run starts without pooled connections, as a new libcurl client
-- does: closes the idle connections sfn.ngx_transport pooled for endpoint
-- (its pool name for plain HTTP, "sfn:http:<host>:<port>"); returns how many.
local function drain_pool(ngx, endpoint)
  local host, port = endpoint:match("^http://([^:/]+):(%d+)")
  if not host then
    return 0
  end
  local name = ("sfn:http:%s:%d"):format(host, tonumber(port))
  local drained = 0
  for _ = 1, 64 do
    local sock = ngx.socket.tcp()
    sock:settimeouts(1000, 1000, 1000)
    if not sock:connect(host, tonumber(port), { pool = name }) then
      break
    end
    local reused = (sock:getreusedtimes() or 0) > 0
    sock:close()
    if not reused then
      break
    end
    drained = drained + 1
  end
  return drained
end

-- nginx: POST /parity with {"case": {...}, "endpoint": "..."}; replies
-- {"outcome": the case's outcome over cosockets (transport = "ngx"),
--  "drained": idle pooled connections closed first} as JSON.
function M.content()
  local ngx = rawget(_G, "ngx")
  local cjson = require "cjson.safe"
  local json = require "sfn_json"
  ngx.req.read_body()
  local doc = cjson.decode(ngx.req.get_body_data() or "")
  ngx.header["Content-Type"] = "application/json"
  if type(doc) ~= "table" or type(doc.case) ~= "table" or type(doc.endpoint) ~= "string" then
    ngx.status = 400
    ngx.say('{"bad_request":true}')
    return
  end
  local drained = drain_pool(ngx, doc.endpoint)
  local ok, outcome = pcall(M.run, require "sfn", doc.case, { endpoint = doc.endpoint, transport = "ngx" })
  if not ok then
    ngx.status = 500
    ngx.say(json.encode { handler_error = tostring(outcome) })
    return
  end
  ngx.say(json.encode { outcome = outcome, drained = drained })
end

return M

--- ListMapRuns over a transport written in Lua: a user's function, or
-- OpenResty cosockets. It composes the C core's sans-I/O seams
-- (`build_request`, `decode_reply`, the pager) so that a transport may yield,
-- which a C caller could not allow under LuaJIT. The libcurl transport does
-- not come through here.
-- @module sfn.driver
local core = require "sfn.core"
local errors = require "sfn.errors"

local driver = { _VERSION = core._VERSION }

local Driver = {}
Driver.__index = Driver

-- Phases where ngx_lua allows cosockets.
local COSOCKET_PHASES = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

local function cosockets_available()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.get_phase) == "function"
    and COSOCKET_PHASES[ngx.get_phase()] == true
end

--- @tparam table cfg resolved configuration (see `sfn.config`)
-- @tparam string user_agent
-- @param policy the `sfn.Client` userdata: its retry policy (quota, rate
--   limiter, clock offset) and log hook are shared with the libcurl path
function driver.new(cfg, user_agent, policy)
  local choice = cfg.transport
  if choice ~= nil and choice ~= "curl" and choice ~= "ngx" and type(choice) ~= "function" then
    errors.raise("ConfigError", 'transport: expected "curl", "ngx" or a function')
  end
  return setmetatable({ cfg = cfg, choice = choice, user_agent = user_agent, policy = policy }, Driver)
end

--- The Lua send function for this call, or nil for the C libcurl path.
function Driver:transport()
  local choice = self.choice
  if type(choice) == "function" then
    return choice
  end
  if choice == "ngx" or (choice == nil and cosockets_available()) then
    if not cosockets_available() then
      errors.raise("ConfigError", 'transport "ngx": cosockets are not available in this context')
    end
    return require("sfn.ngx_transport").send
  end
  return nil
end

local function sleep_for(cfg, seconds)
  if cfg.sleep then
    return cfg.sleep(seconds)
  end
  local ngx = rawget(_G, "ngx")
  if cosockets_available() and ngx.sleep then
    return ngx.sleep(seconds)
  end
  return core.sleep(seconds)
end

-- A transport failure as an sfn.Error: raised errors pass through, a
-- `nil, message` return or a string error becomes a TransportError.
local function transport_error(err)
  if core.is_error(err) then
    return err
  end
  return errors.new("TransportError", "transport failed: " .. tostring(err), { retryable = true })
end

-- The call's I/O for the credential providers: their requests
-- (`{ method=, url=, headers=, body=, timeout=, connect_timeout=, ca_file= }`,
-- as `core.http_request` takes them) over this call's send function, with
-- its failures raised as sfn.Errors and reply header names lower-cased; and
-- the driver's sleep.
local function credentials_io(cfg, send)
  local function http(req)
    local ok, status, headers, body = pcall(send, {
      method = req.method or "GET", url = req.url, headers = req.headers or {}, body = req.body or "",
      connect_timeout = req.connect_timeout or cfg.connect_timeout, timeout = req.timeout or cfg.timeout,
      ca_file = req.ca_file,
    })
    if not ok then
      error(transport_error(status), 0)
    elseif status == nil then
      error(transport_error(headers), 0)
    end
    local lower = {}
    if type(headers) == "table" then
      for k, v in pairs(headers) do
        if type(k) == "string" then
          lower[k:lower()] = type(v) == "table" and table.concat(v, ", ") or v
        end
      end
    end
    return status, lower, body or ""
  end
  return {
    http = http,
    sleep = function(seconds)
      return sleep_for(cfg, seconds)
    end,
  }
end

local function header(headers, name)
  if type(headers) ~= "table" then
    return nil
  end
  for k, v in pairs(headers) do
    if type(k) == "string" and k:lower() == name then
      return type(v) == "table" and v[1] or v
    end
  end
end

-- One attempt: the page or the sfn.Error, and the reply's Date header.
local function attempt_once(self, send, request_cfg, params, info)
  local method, url, headers, body = core.build_request(request_cfg, params, info)
  info.invocation_id = headers["amz-sdk-invocation-id"]
  local ok, status, reply_headers, reply_body, reason = pcall(send, {
    method = method, url = url, headers = headers, body = body,
    connect_timeout = self.cfg.connect_timeout, timeout = self.cfg.timeout,
    ca_file = self.cfg.ca_file,
  })
  if not ok then
    return transport_error(status), nil, headers
  end
  if status == nil then
    return transport_error(reply_headers), nil, headers
  end
  local _, outcome = pcall(core.decode_reply, status, reply_headers, reply_body, reason)
  return outcome, header(reply_headers, "date"), headers
end

--- One page, with retries: the libcurl path's policy, run from Lua.
function Driver:list_map_runs(send, params)
  local cfg, policy = self.cfg, self.policy
  local info = { max_attempts = cfg.max_attempts }
  local request_cfg = { endpoint = cfg.endpoint, region = cfg.region, user_agent = self.user_agent }
  local refreshed, force_refresh = false, false
  local server_skew -- server clock minus ours at the last reply, for the ttl
  local attempt = 0
  local io = credentials_io(cfg, send)
  while true do
    attempt = attempt + 1
    local wait = policy:_policy_before_send()
    if wait > 0 then
      sleep_for(cfg, wait)
    end
    request_cfg.credentials = cfg.credentials(force_refresh, io)
    force_refresh = false
    info.attempt, info.time = attempt, policy:_policy_now()
    info.ttl = server_skew and os.time() + server_skew + math.ceil(cfg.timeout) or nil
    local started = core.monotonic()
    local outcome, date, headers = attempt_once(self, send, request_cfg, params, info)
    local duration = core.monotonic() - started
    local failed = core.is_error(outcome)
    local server_time = date and core.parse_http_date(date)
    if server_time then
      server_skew = server_time - os.time()
    end
    if failed then
      core.redact(outcome, request_cfg.credentials)
      outcome.attempts = attempt
    else
      outcome.ResponseMetadata.RetryAttempts = attempt - 1
    end
    local decision, delay
    decision, delay, refreshed = policy:_policy_after(failed and outcome or nil, attempt, refreshed, date)
    policy:_log_attempt(attempt, outcome, duration, decision, delay, headers)
    if decision == "success" then
      return outcome
    elseif decision == "give_up" then
      error(outcome, 0)
    elseif decision == "refresh_credentials" then
      force_refresh = true
    elseif decision == "retry" then
      sleep_for(cfg, delay)
    end
  end
end

--- Pages, driven by the C pager.
function Driver:pages(send, params, pagination)
  local pager = core.new_pager(params, pagination)
  local function next_page()
    local request = pager:next_params()
    if request == nil then
      return nil
    end
    return pager:accept(self:list_map_runs(send, request))
  end
  return next_page, pager, nil, pager
end

--- Map Runs across pages; one page held at a time.
function Driver:items(send, params, pagination)
  local next_page, pager = self:pages(send, params, pagination)
  local runs, index = nil, 0
  local function next_run()
    while runs == nil or index >= #runs do
      local page = next_page()
      if page == nil then
        runs = nil
        return nil
      end
      runs, index = page.mapRuns, 0
    end
    index = index + 1
    return runs[index]
  end
  return next_run, pager, nil, pager
end

return driver

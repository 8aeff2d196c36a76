--- Operations over a transport written in Lua: a user's function, or
-- OpenResty cosockets. It runs the C engine's call (`core.call`) and pager
-- from Lua so that a transport may yield, which a C caller could not allow
-- under LuaJIT. The libcurl transport does not come through here.
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
-- @param policy the `sfn.Client` userdata: its retry policy (quota, rate
--   limiter, clock offset) and log hook are shared with the libcurl path
function driver.new(cfg, policy)
  local choice = cfg.transport
  if choice ~= nil and choice ~= "curl" and choice ~= "ngx" and type(choice) ~= "function" then
    errors.raise("ConfigError", 'transport: expected "curl", "ngx" or a function')
  end
  return setmetatable({ cfg = cfg, choice = choice, policy = policy }, Driver)
end

--- The Lua send function for this call, or nil for the C libcurl path.
function Driver:transport()
  local choice = self.choice
  if type(choice) == "function" then
    return choice
  end
  -- choice is "ngx", "curl" or nil (driver.new checked it)
  if choice ~= "curl" then
    if cosockets_available() then
      return require("sfn.ngx_transport").send
    elseif choice == "ngx" then
      errors.raise("ConfigError", 'transport "ngx": cosockets are not available in this context')
    end
  end
  return nil
end

local function sleep_for(cfg, seconds)
  if cfg.sleep then
    return errors.protect("ConfigError", "the sleep option failed", cfg.sleep, seconds)
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
  return errors.new("TransportError", "transport failed: " .. errors.describe(err), { retryable = true })
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

--- One call of any operation: the engine's call (`core.call`), its actions
-- carried out in Lua. Every decision is the engine's; this loop only does
-- the I/O.
-- @tparam function send the transport
-- @tparam string op_name "ListMapRuns", "DescribeMapRun", "ListExecutions"
-- @tparam table params
function Driver:call(send, op_name, params)
  -- this driver carries out a user's function or cosockets
  local call = core.call(self.policy, params, op_name, type(self.choice) == "function" and "function" or "ngx")
  local cfg = self.cfg
  while true do
    local action, arg = call:next()
    if action == "send" then
      local ok, status, headers, body, reason = pcall(send, arg)
      if ok and status ~= nil then
        call:reply(status, headers, body, reason)
      else
        call:failed(not ok, ok and headers or status)
      end
    elseif action == "credentials" then
      -- the I/O object for this send function, made on the first call
      -- that asks for credentials and kept with the driver
      local io = self.io
      if io == nil or self.io_send ~= send then
        io = credentials_io(cfg, send)
        self.io, self.io_send = io, send
      end
      call:credentials(pcall(cfg.credentials, arg, io))
    elseif action == "sleep" then
      sleep_for(cfg, arg)
    elseif action == "done" then
      return arg
    else
      error(arg, 0)
    end
  end
end

--- One ListMapRuns page.
function Driver:list_map_runs(send, params)
  return self:call(send, "ListMapRuns", params)
end

--- Pages of an operation that pages (default ListMapRuns), driven by the C
-- pager.
function Driver:pages(send, params, pagination, op_name)
  op_name = op_name or "ListMapRuns"
  local pager = core.new_pager(params, pagination, op_name)
  local function next_page()
    local request = pager:next_params()
    if request == nil then
      return nil
    end
    return pager:accept(self:call(send, op_name, request))
  end
  return next_page, pager, nil, pager
end

--- Items (Map Runs, executions) across pages; one page held at a time.
function Driver:items(send, params, pagination, op_name)
  local next_page, pager = self:pages(send, params, pagination, op_name)
  local key = pager.result_key
  local runs, index = nil, 0
  local function next_run()
    while runs == nil or index >= #runs do
      runs = nil -- released before the next page arrives
      local page = next_page()
      if page == nil then
        runs = nil
        return nil
      end
      runs, index = page[key], 0
    end
    index = index + 1
    return runs[index]
  end
  return next_run, pager, nil, pager
end

return driver

--- AWS Step Functions Map Runs for Lua: ListMapRuns (one page, every page,
-- every item), DescribeMapRun, and ListExecutions (a Map Run's child
-- executions).
-- The front of the C core `sfn.core`: configuration and credentials are
-- resolved here (see `sfn.config`), the rest happens in C.
-- @module sfn
local core = require "sfn.core"
local config = require "sfn.config"
local errors = require "sfn.errors"
-- sfn.driver and sfn.useragent load when first needed: a plain client
-- starts without compiling them.

local sfn = {
  _VERSION = core._VERSION,
  Error = core.Error,
  is_error = core.is_error,
}

local Client = {}
Client.__index = Client
-- The methods that return iterators (sfn.safe wraps them differently).
Client._iterators = {
  list_map_runs_pages = true, map_runs = true,
  list_executions_pages = true, executions = true, map_run_descriptions = true,
}
-- The operation each method calls (errors raised before the call name it).
Client._operations = {
  describe_map_run = "DescribeMapRun", list_executions = "ListExecutions",
  list_executions_pages = "ListExecutions", executions = "ListExecutions",
}
-- The class, for sfn.safe: it wraps every public method it finds here.
sfn._Client = Client

local function user_agent()
  local lua = "lua/" .. (_VERSION:match("%d+%.%d+") or "?")
  if type(jit) == "table" and jit.version then
    lua = lua .. " " .. jit.version:gsub("^LuaJIT ", "luajit/")
  end
  return ("sfn/%s %s"):format(core._VERSION, lua)
end

--- Makes a client. Every option is optional; see API.md for the list.
-- @tparam[opt] table opts
-- @treturn table the client, with readable `region` and `endpoint`
-- @raise ConfigError when no region can be resolved or an option is wrong
function sfn.new(opts)
  -- options tables whose metamethods raise still give a ConfigError
  local cfg = errors.protect("ConfigError", "sfn.new: options", config.resolve, opts, os.getenv)
  local agent = user_agent()
  if cfg.app_id ~= nil then
    agent = require("sfn.useragent").build(agent, cfg)
  end
  local self = setmetatable({
    region = cfg.region,
    endpoint = cfg.endpoint,
    max_attempts = cfg.max_attempts,
  }, Client)
  self._core = core.new_client {
    endpoint = cfg.endpoint,
    region = cfg.region,
    credentials = cfg.credentials,
    max_attempts = cfg.max_attempts,
    connect_timeout = cfg.connect_timeout,
    timeout = cfg.timeout,
    ca_file = cfg.ca_file,
    user_agent = agent,
    sleep = cfg.sleep,
    log = cfg.log,
    retry_mode = cfg.retry_mode,
    new_retries = cfg.new_retries,
  }
  self._cfg = cfg
  return self
end

-- The client's Lua driver (`_driver`), made on its first call: sfn.driver
-- loads then, not when the client is made.
function Client._lua_driver(self)
  local d = self._driver
  if d == nil then
    d = require("sfn.driver").new(self._cfg, self._core)
    self._driver = d
  end
  return d
end

-- The Lua send function of this call (nil for the libcurl path), and the driver.
local function transport(self)
  local d = Client._lua_driver(self)
  return d:transport(), d
end

--- One page of Map Runs.
-- @tparam table params { executionArn=, maxResults=?, nextToken=? }
-- @treturn table page { mapRuns=, nextToken=, ResponseMetadata= }
-- @raise sfn.Error
function Client:list_map_runs(params)
  local send, d = transport(self)
  if send then
    return d:list_map_runs(send, params)
  end
  return self._core:list_map_runs(params)
end

--- Iterates over pages: `for page in client:list_map_runs_pages(params, pagination)`.
-- The second value is the pager: its `resume_token` continues after `max_items`.
-- @tparam table params
-- @tparam[opt] table pagination { max_items=, page_size=, starting_token= }
-- @raise sfn.Error (from the loop)
function Client:list_map_runs_pages(params, pagination)
  local send, d = transport(self)
  if send then
    return d:pages(send, params, pagination)
  end
  return self._core:pages(params, pagination)
end

--- Iterates over Map Runs across pages: `for run in client:map_runs(params, pagination)`.
-- @tparam table params
-- @tparam[opt] table pagination
-- @raise sfn.Error (from the loop)
function Client:map_runs(params, pagination)
  local send, d = transport(self)
  if send then
    return d:items(send, params, pagination)
  end
  return self._core:items(params, pagination)
end

-- One call of an operation through the transport in use.
local function call(self, op_name, params)
  local send, d = transport(self)
  if send then
    return d:call(send, op_name, params)
  end
  return self._core:call(op_name, params)
end

-- The page or item iterator of an operation that pages.
local function iterate(self, kind, op_name, params, pagination)
  local send, d = transport(self)
  if send then
    return d[kind](d, send, params, pagination, op_name)
  end
  return self._core[kind](self._core, params, pagination, op_name)
end

--- One Map Run: DescribeMapRun.
-- @tparam table params { mapRunArn= }
-- @treturn table { mapRunArn=, executionArn=, status=, startDate=, stopDate=?,
--   maxConcurrency=, toleratedFailurePercentage=, toleratedFailureCount=,
--   itemCounts=, executionCounts=, redriveCount=?, redriveDate=?, ResponseMetadata= }
-- @raise sfn.Error (ResourceNotFound, InvalidArn, ...)
function Client:describe_map_run(params)
  return call(self, "DescribeMapRun", params)
end

--- One page of executions: ListExecutions.
-- @tparam table params { mapRunArn= or stateMachineArn=, statusFilter=?,
--   redriveFilter=? (with mapRunArn), maxResults=?, nextToken=? }
-- @treturn table page { executions=, nextToken=, ResponseMetadata= }
-- @raise sfn.Error
function Client:list_executions(params)
  return call(self, "ListExecutions", params)
end

--- Iterates over pages of executions, as `list_map_runs_pages` does.
-- @tparam table params
-- @tparam[opt] table pagination
-- @raise sfn.Error (from the loop)
function Client:list_executions_pages(params, pagination)
  return iterate(self, "pages", "ListExecutions", params, pagination)
end

--- Iterates over executions across pages: `for e in client:executions(params, pagination)`.
-- @tparam table params
-- @tparam[opt] table pagination
-- @raise sfn.Error (from the loop)
function Client:executions(params, pagination)
  return iterate(self, "items", "ListExecutions", params, pagination)
end

--- Walks an execution's Map Runs with their descriptions:
-- `for description, run in client:map_run_descriptions{ executionArn = arn }`.
-- One DescribeMapRun per Map Run, made when the loop reaches it; one page of
-- Map Runs in memory. The second value is the ListMapRuns pager
-- (`resume_token` after `max_items`).
-- @tparam table params ListMapRuns params
-- @tparam[opt] table pagination
-- @raise sfn.Error (from the loop)
function Client:map_run_descriptions(params, pagination)
  local next_run, pager, init, closing = self:map_runs(params, pagination)
  local function step()
    local run = next_run(pager, init)
    if run == nil then
      return nil
    end
    return call(self, "DescribeMapRun", { mapRunArn = run.mapRunArn }), run
  end
  return step, pager, nil, closing
end

--- Every Map Run in one array (up to `pagination.max_items`).
-- @treturn table array of Map Runs
-- @treturn string|nil the resume token when `max_items` stopped early
function Client:all_map_runs(params, pagination)
  local runs = {}
  local next_run, pager = self:map_runs(params, pagination)
  for run in next_run, pager do
    runs[#runs + 1] = run
  end
  return runs, pager.resume_token
end

--- The retry policy's state: `{ mode=, quota=, clock_offset= }`.
-- @treturn table mode ("standard" or "adaptive"), retry tokens left, and the
--   server's clock minus ours in seconds
function Client:retry_state()
  local c = self._core
  return { mode = c.retry_mode, quota = c.retry_quota, clock_offset = c.clock_offset }
end

--- Releases the connection now (it is also released when collected).
function Client:close()
  self._core:close()
end

-- Every public method checks its `self` first: `client.list_map_runs(p)`
-- is a ValidationError, not an index error deep inside.
for name, method in pairs(Client) do
  if type(method) == "function" and name:sub(1, 1) ~= "_" then
    Client[name] = function(self, ...)
      if getmetatable(self) ~= Client then
        errors.raise("ValidationError", ("client:%s: expected an sfn client, got %s (call methods with ':')")
          :format(name, type(self)), { operation = Client._operations[name] })
      end
      return method(self, ...)
    end
  end
end

--- Formats epoch seconds as ISO 8601 UTC with milliseconds.
-- @tparam number t seconds since the Unix epoch
-- @treturn string e.g. "2023-11-14T22:13:20.125Z"
-- @raise ValidationError when t is not a number of years 0001..9999
sfn.iso8601 = require("sfn.time").iso8601

return sfn

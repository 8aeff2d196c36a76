--- The `sfn` API returning `nil, err` instead of raising, as `cjson.safe`
-- does for `cjson`: the OpenResty way, where an uncaught table error is
-- logged as "unknown reason".
--   local sfn = require "sfn.safe"
--   local client, err = sfn.new()
--   if not client then ngx.log(ngx.ERR, tostring(err)) end
-- Iterators return `nil, err` as their last step on failure, after the
-- items already yielded; the iterator state's `error` field keeps it too.
-- @module sfn.safe
local sfn = require "sfn"

local safe = {}
for name, value in pairs(sfn) do
  if name:sub(1, 1) ~= "_" or name == "_VERSION" then
    safe[name] = value
  end
end

local SafeClient = {}
SafeClient.__index = SafeClient

local unpack = table.unpack or unpack

local function pack(...)
  return { n = select("#", ...), ... }
end

-- Calls f, turning a raised error into nil, err.
local function protect(f, ...)
  local result = pack(pcall(f, ...))
  if not result[1] then
    return nil, result[2]
  end
  return unpack(result, 2, result.n)
end

--- `sfn.new` without raising.
-- @tparam[opt] table opts the options of `sfn.new`
-- @treturn[1] table a client whose methods return `nil, err` instead of raising
-- @treturn[2] nil
-- @treturn[2] table the `sfn.Error` (ConfigError, CredentialsError, ...)
-- @raise nothing
-- @usage local client, err = require("sfn.safe").new { region = "us-east-1" }
-- if not client then ngx.log(ngx.ERR, tostring(err)) return end
-- @see sfn.new
function safe.new(opts)
  local client, err = protect(sfn.new, opts)
  if not client then
    return nil, err
  end
  return setmetatable({ client = client, region = client.region, endpoint = client.endpoint }, SafeClient)
end

--- `sfn.iso8601` without raising.
-- @tparam number t seconds since the Unix epoch
-- @treturn[1] string e.g. "2023-11-14T22:13:20.125Z"
-- @treturn[2] nil
-- @treturn[2] table a ValidationError
-- @raise nothing
-- @usage local text = safe.iso8601(run.startDate) or "?"
-- @see sfn.iso8601
function safe.iso8601(t)
  return protect(sfn.iso8601, t)
end

-- The state of a safe iterator: the pager's fields plus `error`.
local SafeState = {}
SafeState.__index = function(state, key)
  local pager = rawget(state, "pager")
  return pager and pager[key]
end

-- Wraps a raising iterator factory so that failures end the loop with nil, err.
local function safe_iterator(factory)
  return function(self, params, pagination)
    local state = setmetatable({}, SafeState)
    local ok, iterate, pager = pcall(factory, self.client, params, pagination)
    if not ok then
      state.error = iterate
    else
      state.pager = pager
    end
    local function step()
      if state.error ~= nil or state.finished then
        local err = state.error
        state.finished = true
        return nil, err
      end
      local result = pack(pcall(iterate, pager))
      if not result[1] then
        state.error = result[2]
        state.finished = true
        return nil, result[2]
      end
      if result[2] == nil then
        state.finished = true
        return nil
      end
      return unpack(result, 2, result.n) -- e.g. description, run
    end
    return step, state
  end
end

-- Every public method of sfn's client, wrapped by construction.
for name, method in pairs(sfn._Client) do
  if type(method) == "function" and name:sub(1, 1) ~= "_" then
    if sfn._Client._iterators[name] then
      SafeClient[name] = safe_iterator(method)
    else
      SafeClient[name] = function(self, ...)
        return protect(method, self.client, ...)
      end
    end
  end
end

return safe

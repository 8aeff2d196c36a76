--- Fetching and refreshing the credentials of one cache entry of
-- `sfn.credentials`: the provider chain, the refresh windows, single flight
-- under OpenResty and the `shared_dict` between workers. Loaded on a
-- client's first credentials fetch, not when the client is made.
-- @module sfn.credentials.fetch
local credentials = require "sfn.credentials"
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"

local fetch_module = { _VERSION = "0.1.0" }

-- The I/O used when the call brings none (the C libcurl path): one line
-- each, so that the transport's module can change without touching the rest.
local function default_http(req)
  return require("sfn.curl").http_request(req)
end

local function default_sleep(seconds)
  return require("sfn.core").sleep(seconds)
end

local function wrap_error(err, what)
  if errors.is_error(err) then return err end
  -- a plain Lua error text could echo anything: keep only the provider
  return errors.new("CredentialsError", what .. " failed: " .. util.excerpt(tostring(err), 200))
end

-- Phases where ngx_lua lets a request yield (semaphores, ngx.sleep).
local YIELDABLE = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

local function ngx_yieldable()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.get_phase) == "function" and YIELDABLE[ngx.get_phase()] == true
end

-- A caller may wait for another one only from the Lua driver (`io` given):
-- the C libcurl path calls the credentials function from C, across which
-- LuaJIT cannot yield.
local function can_wait(io)
  return io ~= nil and ngx_yieldable()
end

local function log_to(log, msg)
  if log then pcall(log, { operation = "ListMapRuns", event = "credentials", message = msg }) end
end

-- The context a fetch runs with: the entry's, with this call's I/O. Test
-- seams win, then the call's transport and sleep, then the defaults.
local function call_ctx(entry, io)
  local ctx = entry.ctx
  return setmetatable({
    http = ctx.http or (io and io.http) or default_http,
    sleep = ctx.sleep or (io and io.sleep) or default_sleep,
  }, { __index = ctx })
end

local function providers(entry)
  if entry.chain == nil then
    local chain = {}
    for _, p in ipairs(entry.ctx.providers or credentials.default_providers()) do
      -- an explicit profile option negates the environment provider
      if not (entry.ctx.explicit_profile and p.name == "env") then chain[#chain + 1] = p end
    end
    entry.chain = chain
  end
  return entry.chain
end

local function run_chain(entry, ctx)
  local tried = {}
  for _, p in ipairs(providers(entry)) do
    local ok, c, why = pcall(p.load, ctx)
    if not ok then error(wrap_error(c, p.name), 0) end
    if c ~= nil then
      c = util.validate(c, p.name)
      c.source = c.source or p.name
      return c, p
    end
    tried[#tried + 1] = why and (p.name .. " (" .. why .. ")") or p.name
  end
  util.fail("no credentials found for profile '" .. tostring(entry.ctx.profile_name)
    .. "'; tried: " .. table.concat(tried, ", "))
end

-- One provider round: the chain on the first fetch (or when the cached
-- credentials came from the shared dict), else the provider that made them.
local function load(entry, ctx, forced)
  if entry.from == nil then
    return run_chain(entry, ctx)
  end
  local from = entry.from
  local ok, c = pcall(from.load, ctx, forced)
  if ok and c ~= nil then
    ok, c = pcall(util.validate, c, from.name)
  end
  if not ok then error(wrap_error(c, from.name), 0) end
  if c == nil then util.fail(from.name .. " returned no credentials on refresh") end
  c.source = c.source or from.name
  return c, from
end

-- The shared dict: one line per field; only credentials with an expiration.
local function dict_of(entry)
  if entry.dict_name == nil then return nil end
  local ngx = rawget(_G, "ngx")
  local shared = type(ngx) == "table" and ngx.shared
  return shared and shared[entry.dict_name] or nil
end

local function encode(c)
  local fields = { "1", c.access_key_id, c.secret_access_key, c.session_token or "",
    ("%.3f"):format(c.expiration), c.source or "" }
  for _, f in ipairs(fields) do
    if f:find("\n", 1, true) then return nil end
  end
  return table.concat(fields, "\n")
end

local function decode(text)
  if type(text) ~= "string" then return nil end
  local v, ak, sk, tok, exp, src = text:match("^(1)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)\n([^\n]*)$")
  if not v or ak == "" or sk == "" or not tonumber(exp) then return nil end
  return { access_key_id = ak, secret_access_key = sk, session_token = tok ~= "" and tok or nil,
           expiration = tonumber(exp), source = src ~= "" and src or nil }
end

-- Whether credentials found in the dict do for this fetch.
local function acceptable(entry, c, kind)
  if c == nil then return false end
  local remaining = c.expiration - entry.ctx.now()
  if kind == "forced" then
    local old = entry.cached
    return remaining > 0 and not (old and old.access_key_id == c.access_key_id
      and old.session_token == c.session_token)
  end
  return remaining >= (kind == "advisory" and credentials.ADVISORY_REFRESH or credentials.MANDATORY_REFRESH)
end

-- A provider round through the shared dict: another worker's credentials
-- when they do, else this worker fetches under the dict's lock while the
-- others poll.
local function load_shared(entry, ctx, kind, io, log)
  local dict = dict_of(entry)
  if dict == nil then return load(entry, ctx, kind == "forced") end
  local ngx = rawget(_G, "ngx")
  local key = entry.dict_key
  local lock = key .. ":lock"
  local deadline = ngx.now() + credentials.WAIT_TIMEOUT
  while true do
    local c = decode(dict:get(key))
    if acceptable(entry, c, kind) then return c, entry.from end
    local locked, err = dict:add(lock, true, credentials.LOCK_TTL)
    if locked or err ~= "exists" or not can_wait(io) or ngx.now() >= deadline then
      if not locked and err ~= "exists" then
        log_to(log, "sfn: shared dict " .. entry.dict_name .. " refused the credentials lock: " .. tostring(err))
      end
      local ok, c2, from = pcall(load, entry, ctx, kind == "forced")
      if ok and c2.expiration then
        local text = encode(c2)
        local ttl = c2.expiration - entry.ctx.now()
        if text and ttl > 0 then
          local stored, serr = dict:set(key, text, ttl)
          if not stored then
            log_to(log, "sfn: shared dict " .. entry.dict_name .. " did not take the credentials: " .. tostring(serr))
          end
        end
      end
      if locked then dict:delete(lock) end
      if not ok then error(c2, 0) end
      return c2, from
    end
    ngx.sleep(credentials.LOCK_POLL)
  end
end

-- Fetches into the entry: the first time, or a refresh of `kind` "forced",
-- "mandatory" or "advisory". Raises unless advisory.
local function fetch(entry, kind, io, log)
  local ctx = call_ctx(entry, io)
  local ok, c, from = pcall(load_shared, entry, ctx, kind, io, log)
  if ok and kind ~= "first" and c.expiration and c.expiration - entry.ctx.now() <= 0 then
    -- botocore's _protected_refresh: only credentials already expired are refused
    ok, c = false, errors.new("CredentialsError", "credentials from " .. tostring(from and from.name or c.source)
      .. " were refreshed, but the refreshed credentials are still expired")
  end
  if ok then
    entry.cached, entry.from = c, from
    return
  end
  local err = wrap_error(c, "the credentials provider")
  if kind == "advisory" then
    log_to(log, "sfn: advisory credentials refresh failed, keeping the current ones: " .. tostring(err))
    return
  end
  error(err, 0)
end

-- Single flight: while one caller fetches for an entry, the others wait for
-- its result (an advisory refresher does not wait: it keeps the current
-- credentials). A caller that cannot yield fetches itself.
local function fetch_once(entry, kind, io, log)
  local flight = entry.flight
  -- a flight whose request was killed mid-fetch never lands: forget it
  if flight and flight.deadline < entry.ctx.now() then
    entry.flight, flight = nil, nil
  end
  if flight then
    if kind == "advisory" then return end
    if can_wait(io) then
      flight.waiters = flight.waiters + 1
      local ok, werr = flight.sema:wait(credentials.WAIT_TIMEOUT)
      if flight.done then
        if flight.ok then return end
        error(flight.err, 0)
      end
      if entry.flight == flight then entry.flight = nil end
      util.fail("waiting for another request's credentials fetch failed: " .. tostring(ok or werr))
    end
  end
  flight = { waiters = 0, deadline = entry.ctx.now() + credentials.WAIT_TIMEOUT }
  if can_wait(io) then
    flight.sema = require("ngx.semaphore").new()
  end
  entry.flight = flight
  local ok, err = pcall(fetch, entry, kind, io, log)
  if entry.flight == flight then entry.flight = nil end
  flight.done, flight.ok, flight.err = true, ok, err
  if flight.sema and flight.waiters > 0 then flight.sema:post(flight.waiters) end
  if not ok then error(err, 0) end
end

--- The credentials of a cache entry, fetched or refreshed as they need.
-- @tparam table entry a cache entry of `sfn.credentials`
-- @tparam boolean force_refresh
-- @tparam[opt] table io the call's `{ http=, sleep= }`
-- @tparam[opt] function log
-- @treturn table `{ access_key_id=, secret_access_key=, session_token=, expiration= }`
function fetch_module.get(entry, force_refresh, io, log)
  local cached = entry.cached
  if cached == nil then
    fetch_once(entry, "first", io, log)
  elseif force_refresh then
    fetch_once(entry, "forced", io, log)
  elseif cached.expiration then
    local remaining = cached.expiration - entry.ctx.now()
    if remaining < credentials.MANDATORY_REFRESH then
      fetch_once(entry, "mandatory", io, log)
    elseif remaining < credentials.ADVISORY_REFRESH then
      fetch_once(entry, "advisory", io, log)
    end
  end
  cached = entry.cached
  return {
    access_key_id = cached.access_key_id,
    secret_access_key = cached.secret_access_key,
    session_token = cached.session_token,
    expiration = cached.expiration,
  }
end

return fetch_module

--- The credential provider chain (botocore's order) and the per-process
-- cache with advisory/mandatory refresh.
--
-- The seam: a chain is a list of provider modules (`ctx.providers`, else
-- `credentials.default_providers()`), each
-- `{ name = "env", load = function(ctx) -> creds | nil, why_not }`. A provider
-- returns nil when its source is not configured, returns a credentials table
-- when it found some, and raises (CredentialsError/ConfigError) when its
-- source is configured but broken — which ends the chain, as in botocore.
-- Refreshing re-runs the provider that produced the cached credentials.
--
-- The cache: one entry per configuration (see `credentials.cache_key`),
-- shared by every client of the process (of the nginx worker) with that
-- configuration. Clients with explicit credentials (a table or a function)
-- get an entry of their own. A fetch or refresh is made once: under
-- OpenResty, other callers wanting the same entry wait for its result on an
-- `ngx.semaphore` (outside nginx nothing runs concurrently). With the
-- `shared_dict` option, temporary credentials are also kept in that
-- `lua_shared_dict` and fetched by one worker at a time.
-- @module sfn.credentials
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"

local credentials = { _VERSION = "0.1.0" }

--- Seconds before expiry at which a refresh is attempted (failure keeps
-- the old credentials).
credentials.ADVISORY_REFRESH = 15 * 60
--- Seconds before expiry at which a refresh must succeed.
credentials.MANDATORY_REFRESH = 10 * 60

--- The default chain, in botocore's order: module names, loaded the first
-- time a client needs the chain (clients with explicit credentials never do).
credentials.PROVIDER_MODULES = {
  "sfn.credentials.env",
  "sfn.credentials.assume_role",
  "sfn.credentials.web_identity",
  "sfn.credentials.sso",
  "sfn.credentials.shared_file",
  "sfn.credentials.login",
  "sfn.credentials.process",
  "sfn.credentials.config_file",
  "sfn.credentials.container",
  "sfn.credentials.imds",
}

--- The default chain's provider modules.
-- @treturn table array of `{ name=, load= }`
function credentials.default_providers()
  local providers = {}
  for i, name in ipairs(credentials.PROVIDER_MODULES) do
    providers[i] = require(name)
  end
  return providers
end

-- The I/O used when the call brings none (the C libcurl path): one line
-- each, so that the transport's module can change without touching the rest.
local function default_http(req)
  return require("sfn.curl").http_request(req)
end

local function default_sleep(seconds)
  return require("sfn.core").sleep(seconds)
end

-- Explicit credentials: a table (validated now) or a function (called on
-- first use, on force_refresh, and when its last result nears expiry; it
-- receives `force_refresh` as its argument).
local function explicit_provider(value)
  if type(value) == "table" then
    local c = util.validate(value, "option 'credentials'", "ConfigError")
    c.source = "explicit"
    return { name = "explicit", load = function() return c end }
  end
  return {
    name = "explicit",
    load = function(_, force_refresh)
      local ok, res = pcall(value, force_refresh == true)
      if not ok then
        if errors.is_error(res) then error(res, 0) end
        util.fail("the credentials function raised an error")
      end
      local c = util.validate(res, "the credentials function's result")
      c.source = "explicit"
      return c
    end,
  }
end

local function wrap_error(err, what)
  if errors.is_error(err) then return err end
  -- a plain Lua error text could echo anything: keep only the provider
  return errors.new("CredentialsError", what .. " failed: " .. util.excerpt(tostring(err), 200))
end

-- Environment variables the providers read: part of the cache key.
credentials.KEY_ENV = {
  "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_V1_DISABLED",
  "AWS_METADATA_SERVICE_TIMEOUT", "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
  "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_STS_REGIONAL_ENDPOINTS",
  "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_SIGNIN",
  "AWS_LOGIN_CACHE_DIRECTORY", "HOME",
}

--- Seconds a caller waits for another caller's fetch (in this worker) or
-- for another worker's lock on the shared dict, before fetching itself.
credentials.WAIT_TIMEOUT = 70
--- Seconds the cross-worker lock lives when its holder never releases it.
credentials.LOCK_TTL = 70
--- Seconds between two looks at a shared dict another worker is filling.
credentials.LOCK_POLL = 0.02

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

-- Cache entries, by key. Entries live as long as the process: there is one
-- per configuration in use, not per client.
local entries = {}

-- Test seams in the key by identity: a number per live object.
local ids, next_id = setmetatable({}, { __mode = "k" }), 0
local function identity(v)
  if v == nil then return "-" end
  if type(v) ~= "table" and type(v) ~= "function" and type(v) ~= "userdata" then return tostring(v) end
  if ids[v] == nil then
    next_id = next_id + 1
    ids[v] = next_id
  end
  return "#" .. ids[v]
end

--- The cache key of a provider context: everything the chain reads (profile,
-- file paths, the environment values above, region and endpoint flags,
-- ca_file, the shared dict) and the identity of the test seams. It holds
-- secrets (the environment's keys): it never leaves the process, and the
-- shared dict sees only its MD5.
-- @tparam table ctx as for `credentials.new`
-- @treturn string
function credentials.cache_key(ctx)
  local files = ctx.files or {}
  local parts = {
    "sfn-credentials-1", tostring(ctx.profile_name), ctx.explicit_profile and "explicit" or "implicit",
    tostring(files.config_file), tostring(files.credentials_file), tostring(ctx.region),
    tostring(ctx.use_fips), tostring(ctx.use_dual_stack), tostring(ctx.ca_file), tostring(ctx.shared_dict),
  }
  local getenv = ctx.getenv or os.getenv
  for _, name in ipairs(credentials.KEY_ENV) do
    local v = getenv(name)
    if v ~= nil then parts[#parts + 1] = name .. "=" .. tostring(v) end
  end
  for _, seam in ipairs { "now", "sleep", "http", "spawn", "sign", "providers", "process_timeout", "mfa_code" } do
    parts[#parts + 1] = seam .. "=" .. identity(ctx[seam])
  end
  return table.concat(parts, "\0")
end

--- Forgets every cached credential of this process (tests, key rotation).
function credentials.clear_cache()
  entries = {}
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

local function get(entry, force_refresh, io, log)
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

--- Builds the credentials function of one client. Clients whose contexts
-- have the same `credentials.cache_key` share one cache entry; explicit
-- credentials are never shared.
-- @tparam table ctx `{ explicit=, getenv=, profile_name=, explicit_profile=,
--   files=, region=, use_fips=, use_dual_stack=, ca_file=, shared_dict=, mfa_code=,
--   now=, sleep=, http=, spawn=, sign=, providers=, process_timeout=, log= }`
--   (`now`..`process_timeout`: test seams)
-- @treturn function `function(force_refresh, io) -> credentials`, where `io`
--   is nil (use libcurl and a blocking sleep) or the call's
--   `{ http = function(req) -> status, headers, body, sleep = function(seconds) }`
function credentials.new(ctx)
  ctx.now = ctx.now or os.time
  ctx.getenv = ctx.getenv or os.getenv
  local entry
  if ctx.explicit ~= nil then
    entry = { ctx = ctx, chain = { explicit_provider(ctx.explicit) } }
  else
    local key = credentials.cache_key(ctx)
    entry = entries[key]
    if entry == nil then
      entry = { ctx = ctx, dict_name = ctx.shared_dict }
      if ctx.shared_dict then
        local ngx = rawget(_G, "ngx")
        local md5 = type(ngx) == "table" and ngx.md5
        entry.dict_key = "sfn:credentials:" .. (md5 and md5(key) or key)
      end
      entries[key] = entry
    end
  end
  local log = ctx.log
  return function(force_refresh, io)
    return get(entry, force_refresh, io, log)
  end
end

return credentials

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
local check = require "sfn.credentials.check"

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

-- Explicit credentials: a table (validated now) or a function (called on
-- first use, on force_refresh, and when its last result nears expiry; it
-- receives `force_refresh` as its argument).
local function explicit_provider(value)
  if type(value) == "table" then
    local c = check.validate(value, "option 'credentials'", "ConfigError")
    c.source = "explicit"
    return { name = "explicit", load = function() return c end }
  end
  return {
    name = "explicit",
    load = function(_, force_refresh)
      local ok, res = pcall(value, force_refresh == true)
      if not ok then
        if errors.is_error(res) then error(res, 0) end
        check.fail("the credentials function raised an error")
      end
      local c = check.validate(res, "the credentials function's result")
      c.source = "explicit"
      return c
    end,
  }
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
    -- fetching and refreshing (sfn.credentials.fetch) load on first use
    return require("sfn.credentials.fetch").get(entry, force_refresh, io, log)
  end
end

return credentials

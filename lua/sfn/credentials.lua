--- The credential provider chain (botocore's order) and the per-client
-- cache with advisory/mandatory refresh.
--
-- The seam: a chain is a list of provider modules (`ctx.providers`, else
-- `credentials.default_providers()`), each
-- `{ name = "env", load = function(ctx) -> creds | nil, why_not }`. A provider
-- returns nil when its source is not configured, returns a credentials table
-- when it found some, and raises (CredentialsError/ConfigError) when its
-- source is configured but broken — which ends the chain, as in botocore.
-- Refreshing re-runs the provider that produced the cached credentials.
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
  "sfn.credentials.shared_file",
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

local function default_http(req)
  return require("sfn.curl").http_request(req)
end

local function default_sleep(seconds)
  local core = require "sfn.core"
  if core.sleep then return core.sleep(seconds) end
  local deadline = os.clock() + seconds
  repeat until os.clock() >= deadline
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

--- Builds the credentials function of one client.
-- @tparam table ctx `{ explicit=, getenv=, profile_name=, explicit_profile=,
--   files=, region=, now=, sleep=, http=, spawn=, sign=, providers=, log= }`
-- @treturn function `function(force_refresh) -> credentials`
function credentials.new(ctx)
  ctx.now = ctx.now or os.time
  ctx.sleep = ctx.sleep or default_sleep
  ctx.http = ctx.http or default_http
  ctx.getenv = ctx.getenv or os.getenv
  local chain
  if ctx.explicit ~= nil then
    chain = { explicit_provider(ctx.explicit) }
  end
  -- The default chain is loaded on the first call, not when the client is made.
  local function providers()
    if chain == nil then
      chain = {}
      for _, p in ipairs(ctx.providers or credentials.default_providers()) do
        -- an explicit profile option negates the environment provider
        if not (ctx.explicit_profile and p.name == "env") then chain[#chain + 1] = p end
      end
    end
    return chain
  end

  local cached, from
  local function log(msg)
    if ctx.log then pcall(ctx.log, { operation = "ListMapRuns", event = "credentials", message = msg }) end
  end

  local function run_chain()
    local tried = {}
    for _, p in ipairs(providers()) do
      local ok, c, why = pcall(p.load, ctx)
      if not ok then error(wrap_error(c, p.name), 0) end
      if c ~= nil then
        c = util.validate(c, p.name)
        c.source = c.source or p.name
        return c, p
      end
      tried[#tried + 1] = why and (p.name .. " (" .. why .. ")") or p.name
    end
    util.fail("no credentials found for profile '" .. tostring(ctx.profile_name)
      .. "'; tried: " .. table.concat(tried, ", "))
  end

  local function refresh(mandatory, forced)
    local ok, c = pcall(from.load, ctx, forced)
    if ok and c ~= nil then
      ok, c = pcall(util.validate, c, from.name)
    end
    if ok and c ~= nil then
      c.source = c.source or from.name
      if mandatory and c.expiration and c.expiration - ctx.now() < credentials.MANDATORY_REFRESH then
        util.fail("credentials from " .. from.name .. " were refreshed, but the new ones expire"
          .. " within " .. math.floor(credentials.MANDATORY_REFRESH / 60) .. " minutes")
      end
      cached = c
      return
    end
    local err = ok and errors.new("CredentialsError", from.name .. " returned no credentials on refresh")
      or wrap_error(c, from.name)
    if mandatory then error(err, 0) end
    log("sfn: advisory credentials refresh failed, keeping the current ones: " .. tostring(err))
  end

  return function(force_refresh)
    if cached == nil then
      cached, from = run_chain()
    elseif force_refresh then
      refresh(true, true)
    elseif cached.expiration then
      local remaining = cached.expiration - ctx.now()
      if remaining < credentials.MANDATORY_REFRESH then
        refresh(true)
      elseif remaining < credentials.ADVISORY_REFRESH then
        refresh(false)
      end
    end
    return {
      access_key_id = cached.access_key_id,
      secret_access_key = cached.secret_access_key,
      session_token = cached.session_token,
      expiration = cached.expiration,
    }
  end
end

return credentials

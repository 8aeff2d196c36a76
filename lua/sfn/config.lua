--- Client configuration: options, then environment, then the shared
-- config/credentials files, then defaults — the order botocore uses.
--
--     local cfg = require("sfn.config").resolve(opts, getenv)
--
-- @module sfn.config
local core = require "sfn.core"
local errors = require "sfn.errors"
local profile = require "sfn.profile"
local endpoints = require "sfn.endpoints"
local credentials = require "sfn.credentials"

local config = { _VERSION = "0.1.0" }

local function config_error(msg)
  errors.raise("ConfigError", msg)
end

local RETRY_MODES = { standard = true, adaptive = true }
local RETRY_MODES_TEXT = '"standard" or "adaptive" (botocore\'s legacy mode is not supported)'

-- Checks a number option against the C core's range for it (core.limits,
-- the ranges' one owner); the error names where the value came from.
local function check_range(name, v, source)
  local limit = core.limits[name]
  if limit and not (v >= limit.min and v <= limit.max) then
    config_error(("%s=%s: must be %g..%g"):format(source, tostring(v), limit.min, limit.max))
  end
end

-- option name -> checker(value) returning an error text or nil
local function is_positive_number(v)
  return type(v) == "number" and v == v and v > 0 and v < math.huge
end

local function is_integer(v)
  return type(v) == "number" and v == math.floor(v) and v > -math.huge and v < math.huge
end

local OPTION_CHECKS = {
  region = function(v) if type(v) ~= "string" or v == "" then return "a non-empty string" end end,
  profile = function(v) if type(v) ~= "string" or v == "" then return "a non-empty string" end end,
  endpoint = function(v) if type(v) ~= "string" then return "an http(s) URL string" end end,
  credentials = function(v)
    if type(v) ~= "table" and type(v) ~= "function" then return "a table or a function" end
  end,
  max_attempts = function(v)
    if not is_integer(v) or v < 1 then return "an integer >= 1" end
  end,
  connect_timeout = function(v) if not is_positive_number(v) then return "a number of seconds > 0" end end,
  timeout = function(v) if not is_positive_number(v) then return "a number of seconds > 0" end end,
  ca_file = function(v) if type(v) ~= "string" or v == "" then return "a non-empty string" end end,
  transport = function(v)
    if v ~= "curl" and v ~= "ngx" and type(v) ~= "function" then
      return '"curl", "ngx" or a function'
    end
  end,
  retry_mode = function(v)
    if not RETRY_MODES[v] then return RETRY_MODES_TEXT end
  end,
  use_fips_endpoint = function(v) if type(v) ~= "boolean" then return "a boolean" end end,
  use_dualstack_endpoint = function(v) if type(v) ~= "boolean" then return "a boolean" end end,
  log = function(v) if type(v) ~= "function" then return "a function" end end,
  sleep = function(v) if type(v) ~= "function" then return "a function" end end,
  shared_dict = function(v) if type(v) ~= "string" or v == "" then return "a non-empty string" end end,
  mfa_code = function(v) if type(v) ~= "function" then return "a function" end end,
  app_id = function(v)
    if type(v) ~= "string" or v == "" or #v > 50 then return "a string of 1..50 characters" end
  end,
}

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then config_error("sfn.new: options must be a table") end
  for k, v in pairs(opts) do
    if type(k) ~= "string" or not OPTION_CHECKS[k] then
      config_error(("sfn.new: unknown option %s"):format(
        type(k) == "string" and ("'" .. k .. "'") or ("of type " .. type(k))))
    end
    local want = OPTION_CHECKS[k](v)
    if want then
      config_error(("sfn.new: option '%s' must be %s (got %s)"):format(k, want, type(v)))
    end
    if type(v) == "number" then check_range(k, v, "sfn.new: option " .. k) end
  end
  return opts
end

-- botocore's ensure_boolean for env / file values.
local function to_bool(v)
  if type(v) == "boolean" then return v end
  return type(v) == "string" and v:lower() == "true"
end

local function nonempty(v)
  if v ~= nil and v ~= "" then return v end
  return nil
end

--- Validates an endpoint URL: http or https with a host.
-- @treturn string|nil the error text
function config.check_endpoint_url(url)
  if type(url) ~= "string" then return "is not a string" end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return "is not an http(s) URL" end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return "must use http or https, not " .. scheme
  end
  local host = rest:match("^([^/?#]*)")
  if host == nil or host == "" or host:match("^:") then return "has no host" end
  if url:find("[%s%c]") then return "holds spaces or control characters" end
  return nil
end

-- The region must be usable as a host label (botocore's validate_region_name).
local function valid_region(r)
  return #r <= 63 and r:match("^[%w][%w%-]*$") ~= nil and r:sub(-1) ~= "-"
end

local REGION_HELP = "no AWS region: pass sfn.new{ region = \"us-east-1\" }, set AWS_REGION "
  .. "(or AWS_DEFAULT_REGION), or put `region = ...` in the profile in ~/.aws/config"

--- Resolves everything a client needs.
-- @tparam[opt] table opts the options given to `sfn.new`
-- @tparam[opt] function getenv `function(name) -> string|nil`, default `os.getenv`
-- @tparam[opt] table deps internal seams for tests: `now`, `sleep`, `http`,
--   `spawn`, `sign`, `providers`, `process_timeout`
-- @treturn table the resolved configuration (see ../shared/API.md)
-- @raise ConfigError, CredentialsError
function config.resolve(opts, getenv, deps)
  opts = check_options(opts)
  if getenv ~= nil and type(getenv) ~= "function" then
    config_error("config.resolve: getenv must be a function")
  end
  getenv = getenv or os.getenv
  deps = deps or {}
  local function env(name) return nonempty(getenv(name)) end

  -- profile and files
  local explicit_profile = opts.profile ~= nil
  local profile_name = opts.profile or env("AWS_PROFILE") or env("AWS_DEFAULT_PROFILE")
  local named = profile_name ~= nil
  profile_name = profile_name or "default"
  local files = profile.load(getenv)
  local prof = files.profiles[profile_name]
  if prof == nil then
    if named then
      config_error(("the config profile '%s' could not be found (looked in %s and %s)")
        :format(profile_name, files.config_file, files.credentials_file))
    end
    prof = {}
  end
  local function pval(key)
    local v = prof[key]
    if type(v) == "string" then return nonempty(v) end
    return nil
  end

  local cfg = {
    profile = profile_name,
    transport = opts.transport,
    log = opts.log,
    sleep = opts.sleep,
    config_file = files.config_file,
    credentials_file = files.credentials_file,
  }

  -- region
  local region = opts.region or env("AWS_REGION") or env("AWS_DEFAULT_REGION") or pval("region")
  if region == nil then config_error(REGION_HELP) end
  if not valid_region(region) then
    config_error(("region '%s' is not a valid region name"):format(region))
  end

  -- FIPS / dual-stack
  local use_fips
  if opts.use_fips_endpoint ~= nil then use_fips = opts.use_fips_endpoint
  else use_fips = to_bool(env("AWS_USE_FIPS_ENDPOINT") or pval("use_fips_endpoint")) end
  local use_dual
  if opts.use_dualstack_endpoint ~= nil then use_dual = opts.use_dualstack_endpoint
  else use_dual = to_bool(env("AWS_USE_DUALSTACK_ENDPOINT") or pval("use_dualstack_endpoint")) end
  -- legacy pseudo regions: fips-us-gov-west-1, us-east-1-fips
  if region:find("fips", 1, true) then
    local stripped = region:gsub("^fips%-", ""):gsub("%-fips$", "")
    if stripped ~= region then region, use_fips = stripped, true end
  end
  cfg.region = region
  cfg.use_fips_endpoint = use_fips
  cfg.use_dualstack_endpoint = use_dual

  -- endpoint
  local endpoint, endpoint_source = opts.endpoint, "option 'endpoint'"
  if endpoint == nil then
    local ignore = to_bool(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
      or pval("ignore_configured_endpoint_urls"))
    if not ignore then
      local svc_section
      local svc_name = pval("services")
      if svc_name and type(files.services[svc_name]) == "table" then
        local s = files.services[svc_name].sfn
        if type(s) == "table" then svc_section = s end
      end
      if env("AWS_ENDPOINT_URL_SFN") then
        endpoint, endpoint_source = env("AWS_ENDPOINT_URL_SFN"), "AWS_ENDPOINT_URL_SFN"
      elseif env("AWS_ENDPOINT_URL") then
        endpoint, endpoint_source = env("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
      elseif svc_section and nonempty(svc_section.endpoint_url) then
        endpoint = svc_section.endpoint_url
        endpoint_source = ("endpoint_url in [services %s] sfn"):format(svc_name)
      elseif pval("endpoint_url") then
        endpoint = pval("endpoint_url")
        endpoint_source = ("endpoint_url in profile '%s'"):format(profile_name)
      end
    end
  end
  if endpoint ~= nil then
    local bad = config.check_endpoint_url(endpoint)
    if bad then config_error(("endpoint from %s %s"):format(endpoint_source, bad)) end
  end
  local url, rule_err = endpoints.resolve {
    region = region, use_fips = use_fips, use_dual_stack = use_dual, endpoint = endpoint,
  }
  if not url then
    if endpoint ~= nil then rule_err = rule_err .. " (endpoint from " .. endpoint_source .. ")" end
    config_error(rule_err)
  end
  cfg.endpoint = url

  -- retries
  local max_attempts = opts.max_attempts
  if max_attempts == nil then
    local raw, src = env("AWS_MAX_ATTEMPTS"), "AWS_MAX_ATTEMPTS"
    if raw == nil then raw, src = pval("max_attempts"), "max_attempts in profile '" .. profile_name .. "'" end
    if raw ~= nil then
      local n = tonumber(raw:match("^%s*(%d+)%s*$"))
      if not n then config_error(src .. " must be an integer >= 1") end
      check_range("max_attempts", n, src)
      max_attempts = n
    else
      max_attempts = 3
    end
  end
  cfg.max_attempts = math.floor(max_attempts)
  local retry_mode = opts.retry_mode
  if retry_mode == nil then
    local raw, src = env("AWS_RETRY_MODE"), "AWS_RETRY_MODE"
    if raw == nil then raw, src = pval("retry_mode"), "retry_mode in profile '" .. profile_name .. "'" end
    if raw ~= nil and not RETRY_MODES[raw] then
      config_error(src .. "=" .. raw .. ": must be " .. RETRY_MODES_TEXT)
    end
    retry_mode = raw or "standard"
  end
  cfg.retry_mode = retry_mode
  -- botocore 1.43's opt-in retry behaviour (retries/standard.py)
  cfg.new_retries = (env("AWS_NEW_RETRIES_2026") or ""):lower() == "true"

  cfg.connect_timeout = opts.connect_timeout or 10
  cfg.timeout = opts.timeout or 60
  cfg.ca_file = opts.ca_file or env("AWS_CA_BUNDLE") or pval("ca_bundle")
  if type(cfg.ca_file) == "string" and cfg.ca_file ~= "" and not cfg.ca_file:find("\0", 1, true) then
    -- libcurl opens it itself, blocking: refuse a FIFO, device or socket now
    -- (a missing file or a directory is left to libcurl's own error)
    local kind = require("sfn.core").file_type(cfg.ca_file)
    if kind and kind ~= "file" and kind ~= "directory" then
      config_error(("the CA bundle %s is a %s, not a regular file: refused"):format(cfg.ca_file:sub(1, 256), kind))
    end
  end

  -- the shared dict only means something under OpenResty; there it must exist
  local shared_dict = opts.shared_dict
  if shared_dict ~= nil then
    local ngx = rawget(_G, "ngx")
    if type(ngx) == "table" and type(ngx.shared) == "table" then
      if ngx.shared[shared_dict] == nil then
        config_error(("option 'shared_dict': no lua_shared_dict named '%s'"):format(shared_dict))
      end
    else
      shared_dict = nil
    end
  end

  -- credentials (resolved lazily, cached per process: see sfn.credentials)
  -- the application id of the User-Agent (sfn.useragent sanitises it)
  cfg.app_id = opts.app_id or env("AWS_SDK_UA_APP_ID") or pval("sdk_ua_app_id")

  cfg.credentials = credentials.new {
    explicit = opts.credentials,
    getenv = getenv,
    profile_name = profile_name,
    explicit_profile = explicit_profile,
    files = files,
    region = region,
    use_fips = use_fips,
    use_dual_stack = use_dual,
    ca_file = cfg.ca_file,
    shared_dict = shared_dict,
    mfa_code = opts.mfa_code,
    log = opts.log,
    now = deps.now,
    sleep = deps.sleep,
    http = deps.http,
    spawn = deps.spawn,
    sign = deps.sign,
    providers = deps.providers,
    process_timeout = deps.process_timeout,
  }
  return cfg
end

return config

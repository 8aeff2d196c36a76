--- IAM Identity Center (SSO) profiles, as botocore's SSOProvider,
-- SSOCredentialFetcher and SSOTokenProvider: `sso_account_id` +
-- `sso_role_name`, with `sso_session = NAME` (a `[sso-session NAME]`
-- section holding `sso_start_url` and `sso_region`) or the legacy
-- `sso_start_url`/`sso_region` in the profile.
--
-- The access token comes from `~/.aws/sso/cache/<sha1 hex>.json` (of the
-- session name, or of the start URL for legacy profiles), written by
-- `aws sso login`. The role credentials come from the portal's
-- GetRoleCredentials (`GET /federation/credentials`, header
-- `x-amz-sso_bearer_token`, unsigned). With an sso-session, a token with
-- under 15 minutes left is refreshed with SSO OIDC CreateToken
-- (`grantType=refresh_token`) and written back atomically (mode 0600) in
-- botocore's format, so the AWS CLI keeps sharing it; at most one attempt a
-- minute per token file in this process.
-- @module sfn.credentials.sso
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"
local endpoints = require "sfn.endpoints"

local M = { name = "sso" }

--- A token with less than this many seconds left is refreshed.
M.REFRESH_WINDOW = 15 * 60
--- Seconds between two refresh attempts of one token file.
M.ATTEMPT_INTERVAL = 60
M.TIMEOUT = 10

-- token file path -> time of the last refresh attempt (this process)
local attempts = {}

--- Forgets the refresh attempts (tests).
function M.reset()
  attempts = {}
end

local function config_error(msg) errors.raise("ConfigError", msg) end

local function shown(s) return util.excerpt(tostring(s), 200) end

--- The SSO configuration of a profile (botocore's _load_sso_config).
-- @treturn table|nil `{ start_url=, region=, role_name=, account_id=,
--   session_name= }`, nil when the profile is not an SSO profile
-- @raise ConfigError when it is one but incomplete or inconsistent
function M.config(ctx, profile_name)
  profile_name = profile_name or ctx.profile_name
  local p = ctx.files.profiles[profile_name]
  if type(p) ~= "table" or (p.sso_role_name == nil and p.sso_account_id == nil) then return nil end
  local resolved, extra = p, {}
  local session_name = p.sso_session
  if session_name ~= nil then
    local session = ctx.files.sso_sessions and ctx.files.sso_sessions[session_name]
    if type(session) ~= "table" then
      config_error(('The specified sso-session does not exist: "%s" (profile "%s")')
        :format(shown(session_name), shown(profile_name)))
    end
    resolved = {}
    for _, k in ipairs { "sso_role_name", "sso_account_id", "sso_start_url", "sso_region", "sso_session" } do
      resolved[k] = p[k]
    end
    for k, v in pairs(session) do
      if resolved[k] ~= nil and resolved[k] ~= v then
        config_error(("The value for %s is inconsistent between profile (%s) and sso-session (%s).")
          :format(shown(k), shown(resolved[k]), shown(v)))
      end
      resolved[k] = v
    end
    extra = { "sso_session" }
  end
  local missing = {}
  for _, k in ipairs { "sso_role_name", "sso_account_id", "sso_start_url", "sso_region", extra[1] } do
    if resolved[k] == nil then missing[#missing + 1] = k end
  end
  if #missing > 0 then
    config_error(('The profile "%s" is configured to use SSO but is missing required configuration: %s')
      :format(shown(profile_name), table.concat(missing, ", ")))
  end
  return {
    start_url = resolved.sso_start_url, region = resolved.sso_region,
    role_name = resolved.sso_role_name, account_id = resolved.sso_account_id,
    session_name = session_name,
  }
end

--- The token cache file of a session (or of a legacy start URL).
function M.token_path(ctx, cfg)
  local core = require "sfn.core"
  return util.home_path(ctx, ".aws/sso/cache/" .. core.sha1_hex(cfg.session_name or cfg.start_url) .. ".json")
end

local function login_hint(ctx, profile_name)
  return ("run `aws sso login --profile %s`"):format(shown(profile_name or ctx.profile_name))
end

local function partition_suffix(region)
  local ok, part = pcall(endpoints.partition, region)
  return ok and type(part) == "table" and part.dns_suffix or "amazonaws.com"
end

--- The SSO portal and SSO OIDC endpoints for a region (configured
-- endpoints first).
function M.portal_url(ctx, region)
  return util.configured_endpoint(ctx, "sso")
    or ("https://portal.sso.%s.%s"):format(region, partition_suffix(region))
end

function M.oidc_url(ctx, region)
  return util.configured_endpoint(ctx, "sso_oidc")
    or ("https://oidc.%s.%s"):format(region, partition_suffix(region))
end

local function pct(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function join(base, path)
  return (base:gsub("/+$", "")) .. path
end

-- The token's secrets: never in a message.
local function token_secrets(tok, extra)
  local s = {}
  if type(tok) == "table" then
    for _, k in ipairs { "accessToken", "refreshToken", "clientSecret" } do
      if type(tok[k]) == "string" then s[#s + 1] = tok[k] end
    end
  end
  for _, v in ipairs(extra or {}) do
    if type(v) == "string" then s[#s + 1] = v end
  end
  return s
end

local function request_failure(ok, status, secrets)
  if ok then return "HTTP " .. tostring(status) end
  local e = status
  if errors.is_error(e) then
    return util.excerpt(util.redact(tostring(e.code) .. ": " .. tostring(e.message), secrets), 300)
  end
  return "request failed"
end

-- SSO OIDC CreateToken with the refresh token; the new token table in
-- botocore's layout, or nil and why not.
local function create_token(ctx, cfg, tok)
  local url = join(M.oidc_url(ctx, cfg.region), "/token")
  local body = util.json_encode(util.object {
    { "clientId", tok.clientId }, { "clientSecret", tok.clientSecret },
    { "grantType", "refresh_token" }, { "refreshToken", tok.refreshToken },
  })
  local secrets = token_secrets(tok)
  local ok, status, headers, rbody = pcall(ctx.http, {
    method = "POST", url = url, body = body,
    headers = { ["Content-Type"] = "application/json" },
    timeout = M.TIMEOUT, connect_timeout = M.TIMEOUT, ca_file = ctx.ca_file,
  })
  if not ok or status ~= 200 then
    local why = request_failure(ok, status, secrets)
    if ok then
      local _, code = util.rest_json(headers, rbody)
      if code then why = why .. " " .. util.excerpt(util.redact(code, secrets), 100) end
    end
    return nil, why
  end
  local j = util.rest_json(headers, rbody)
  if type(j) ~= "table" or type(j.accessToken) ~= "string" or j.accessToken == ""
      or type(j.expiresIn) ~= "number" then
    return nil, "CreateToken's reply holds no accessToken/expiresIn"
  end
  local fields = {
    { "startUrl", cfg.start_url }, { "region", cfg.region },
    { "accessToken", j.accessToken },
    { "expiresAt", util.utc_stamp(ctx.now() + j.expiresIn) },
    { "clientId", tok.clientId }, { "clientSecret", tok.clientSecret },
    { "registrationExpiresAt", tok.registrationExpiresAt },
  }
  if type(j.refreshToken) == "string" then fields[#fields + 1] = { "refreshToken", j.refreshToken } end
  local new = {}
  for _, kv in ipairs(fields) do new[kv[1]] = kv[2] end
  return new, util.object(fields)
end

-- SSOTokenProvider._refresh_access_token: nil (and why) when the token
-- cannot be refreshed; raises only when the refreshed token cannot be saved.
local function refresh_token(ctx, cfg, tok, path)
  for _, k in ipairs { "refreshToken", "clientId", "clientSecret", "registrationExpiresAt" } do
    if type(tok[k]) ~= "string" then return nil, "the cached token holds no " .. k end
  end
  local reg = util.parse_cache_time(tok.registrationExpiresAt)
  if not reg or reg - ctx.now() <= 0 then return nil, "the client registration has expired" end
  local last = attempts[path]
  if last and ctx.now() - last < M.ATTEMPT_INTERVAL then
    return nil, "a refresh was attempted less than a minute ago"
  end
  attempts[path] = ctx.now()
  local new, doc = create_token(ctx, cfg, tok)
  if not new then
    return nil, "SSO OIDC CreateToken failed: " .. doc
  end
  local ok, err = util.write_file(path, util.json_encode(doc))
  if not ok then
    util.fail(("the refreshed SSO token could not be saved: %s; make %s writable, or %s")
      :format(util.excerpt(err, 300), util.excerpt(path:match("^(.*)/") or path, 200), login_hint(ctx)))
  end
  return new
end

--- The SSO access token of a configuration: read from the cache file,
-- refreshed when due and possible.
-- @treturn string the access token
-- @treturn table the token table (for its secrets)
function M.access_token(ctx, cfg)
  local path = M.token_path(ctx, cfg)
  local who = cfg.session_name and ("sso-session '" .. shown(cfg.session_name) .. "'")
    or ("start URL " .. shown(cfg.start_url))
  local tok, err = util.read_json_file(path)
  if not tok then
    if err == "missing" then
      util.fail(("no cached SSO token for %s (%s does not exist): %s"):format(who, shown(path), login_hint(ctx)))
    end
    util.fail(("the cached SSO token for %s cannot be used (%s): %s"):format(who, shown(err), login_hint(ctx)))
  end
  local secrets = token_secrets(tok)
  if type(tok.accessToken) ~= "string" or tok.accessToken == "" or type(tok.expiresAt) ~= "string" then
    util.fail(("the cached SSO token for %s in %s is invalid (no accessToken or expiresAt): %s")
      :format(who, shown(path), login_hint(ctx)))
  end
  local expires = util.parse_cache_time(tok.expiresAt)
  if not expires then
    util.fail(("the cached SSO token for %s in %s has an unreadable expiresAt: %s")
      :format(who, shown(path), login_hint(ctx)))
  end
  local why
  if cfg.session_name and expires - ctx.now() < M.REFRESH_WINDOW then
    local new
    new, why = refresh_token(ctx, cfg, tok, path)
    if new then
      tok, expires = new, util.parse_cache_time(new.expiresAt)
    elseif why then
      why = util.excerpt(util.redact(why, secrets), 300)
      if ctx.log then
        pcall(ctx.log, { operation = "ListMapRuns", event = "credentials",
          message = "sfn: SSO token refresh for " .. who .. " not done: " .. why })
      end
    end
  end
  if expires - ctx.now() <= 0 then
    util.fail(("the SSO token for %s has expired%s: %s"):format(who,
      why and (" and could not be refreshed (" .. why .. ")") or "", login_hint(ctx)))
  end
  return tok.accessToken, tok
end

--- GetRoleCredentials with an access token.
function M.role_credentials(ctx, cfg, token, secrets)
  local url = join(M.portal_url(ctx, cfg.region), "/federation/credentials")
    .. "?role_name=" .. pct(cfg.role_name) .. "&account_id=" .. pct(cfg.account_id)
  local ok, status, headers, body = pcall(ctx.http, {
    method = "GET", url = url, headers = { ["x-amz-sso_bearer_token"] = token },
    timeout = M.TIMEOUT, connect_timeout = M.TIMEOUT, ca_file = ctx.ca_file,
  })
  local j, code = nil, nil
  if ok then j, code = util.rest_json(headers, body) end
  local role = ("role %s in account %s"):format(shown(cfg.role_name), shown(cfg.account_id))
  if ok and status == 401 or code == "UnauthorizedException" then
    util.fail(("the SSO portal refused the SSO token (HTTP %s, expired or revoked session): %s")
      :format(tostring(status), login_hint(ctx)))
  end
  if ok and status == 403 or code == "ForbiddenException" then
    util.fail(("the SSO portal denied %s (HTTP 403): check sso_role_name and sso_account_id of profile '%s'")
      :format(role, shown(ctx.profile_name)))
  end
  local c = ok and status == 200 and type(j) == "table" and j.roleCredentials
  if type(c) ~= "table" then
    local why = request_failure(ok, status, secrets)
    if ok and code then why = why .. " " .. util.excerpt(util.redact(code, secrets), 100) end
    if ok and status == 200 then why = "the reply holds no roleCredentials" end
    util.fail(("SSO GetRoleCredentials for %s at %s failed: %s"):format(role, shown(url), why))
  end
  if type(c.accessKeyId) ~= "string" or type(c.secretAccessKey) ~= "string"
      or type(c.expiration) ~= "number" then
    util.fail(("SSO GetRoleCredentials for %s: the reply's roleCredentials are incomplete"):format(role))
  end
  return {
    access_key_id = c.accessKeyId, secret_access_key = c.secretAccessKey,
    session_token = c.sessionToken,
    -- botocore keeps whole seconds (strftime of the milliseconds / 1000)
    expiration = math.floor(c.expiration / 1000),
  }
end

--- Role credentials for an SSO profile.
-- @tparam table ctx
-- @tparam[opt] string profile_name default ctx.profile_name (source profiles)
function M.load(ctx, profile_name)
  if type(profile_name) ~= "string" then profile_name = nil end
  local cfg = M.config(ctx, profile_name)
  if not cfg then return nil, "no sso_account_id/sso_role_name in the profile" end
  if profile_name then ctx = setmetatable({ profile_name = profile_name }, { __index = ctx }) end
  local token, tok = M.access_token(ctx, cfg)
  return M.role_credentials(ctx, cfg, token, token_secrets(tok))
end

return M

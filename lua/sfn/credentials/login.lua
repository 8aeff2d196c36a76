--- `aws login` sessions (profiles with `login_session`), as botocore's
-- LoginProvider and LoginCredentialFetcher: the session's credentials are
-- cached by the AWS CLI in `~/.aws/login/cache/<sha256 hex of the
-- session>.json` (or `$AWS_LOGIN_CACHE_DIRECTORY`). They are used while
-- more than 5 minutes remain; then the sign-in service's CreateOAuth2Token
-- (`POST /v1/token`, `grantType=refresh_token`) is called with a DPoP proof
-- (an ES256 JWT signed by core.dpop_proof with the cache's `dpopKey`), and
-- the refreshed session is written back atomically (mode 0600).
-- @module sfn.credentials.login
local errors = require "sfn.errors"
local util = require "sfn.credentials.util"

local M = { name = "login" }

--- Cached credentials with more than this many seconds left are used as
-- they are.
M.REFRESH_THRESHOLD = 5 * 60
M.TIMEOUT = 10

local REQUIRED = { "accessToken", "refreshToken", "dpopKey", "clientId" }

local function shown(s) return util.excerpt(tostring(s), 200) end

--- The cache file of a login session.
function M.cache_path(ctx, session)
  local core = require "sfn.core"
  local dir = util.nonempty(ctx.getenv("AWS_LOGIN_CACHE_DIRECTORY"))
  if dir then
    dir = require("sfn.profile").expand_path(dir, function(k) return ctx.getenv(k) end)
  else
    dir = util.home_path(ctx, ".aws/login/cache")
  end
  return (dir:gsub("/+$", "")) .. "/" .. core.sha256_hex(session) .. ".json"
end

--- The sign-in endpoint of a region (configured endpoints first).
function M.endpoint(ctx)
  local url = util.configured_endpoint(ctx, "signin")
  if url then return url end
  local region = ctx.region or "us-east-1"
  if region:match("^cn%-") then return ("https://%s.signin.amazonaws.cn"):format(region) end
  if region:match("^us%-gov%-") then return ("https://%s.signin.amazonaws-us-gov.com"):format(region) end
  return ("https://%s.signin.aws.amazon.com"):format(region)
end

local function hint(ctx)
  return ("run `aws login --profile %s`"):format(shown(ctx.profile_name))
end

local function secrets_of(tok)
  local s = {}
  if type(tok) ~= "table" then return s end
  for _, k in ipairs { "refreshToken", "dpopKey", "idToken" } do
    if type(tok[k]) == "string" then s[#s + 1] = tok[k] end
  end
  local a = tok.accessToken
  if type(a) == "table" then
    for _, k in ipairs { "secretAccessKey", "sessionToken" } do
      if type(a[k]) == "string" then s[#s + 1] = a[k] end
    end
  end
  return s
end

local function to_credentials(ctx, tok, path)
  local a = tok.accessToken
  local exp = type(a) == "table" and util.parse_cache_time(a.expiresAt)
  if type(a) ~= "table" or type(a.accessKeyId) ~= "string" or type(a.secretAccessKey) ~= "string"
      or not exp then
    util.fail(("the login session cache %s holds no usable accessToken: %s"):format(shown(path), hint(ctx)))
  end
  return { access_key_id = a.accessKeyId, secret_access_key = a.secretAccessKey,
           session_token = a.sessionToken, expiration = exp }
end

-- The order the refreshed file is written in: the AWS CLI's fields first.
local ORDER = { "accessToken", "tokenType", "clientId", "refreshToken", "idToken", "dpopKey" }

local function encode_token(tok)
  local fields, seen = {}, {}
  local function add(k)
    local v = tok[k]
    if v == nil or seen[k] then return end
    seen[k] = true
    if type(v) == "table" then
      local inner, keys = {}, {}
      for _, ik in ipairs { "accessKeyId", "secretAccessKey", "sessionToken", "accountId", "expiresAt" } do
        if v[ik] ~= nil then inner[#inner + 1] = { ik, v[ik] } end
      end
      for ik, iv in pairs(v) do
        if type(ik) == "string" and (type(iv) == "string" or type(iv) == "number" or type(iv) == "boolean") then
          keys[#keys + 1] = ik
        end
      end
      table.sort(keys)
      for _, ik in ipairs(keys) do
        local known = false
        for _, kv in ipairs(inner) do if kv[1] == ik then known = true end end
        if not known then inner[#inner + 1] = { ik, v[ik] } end
      end
      v = util.object(inner)
    elseif type(v) ~= "string" and type(v) ~= "number" and type(v) ~= "boolean" then
      return
    end
    fields[#fields + 1] = { k, v }
  end
  for _, k in ipairs(ORDER) do add(k) end
  local rest = {}
  for k in pairs(tok) do if type(k) == "string" and not seen[k] then rest[#rest + 1] = k end end
  table.sort(rest)
  for _, k in ipairs(rest) do add(k) end
  return util.json_encode(util.object(fields))
end

local function refresh(ctx, tok, path)
  local secrets = secrets_of(tok)
  local url = (M.endpoint(ctx):gsub("/+$", "")) .. "/v1/token"
  local core = require "sfn.core"
  local ok, proof = pcall(core.dpop_proof, tok.dpopKey, "POST", url, math.floor(ctx.now()))
  if not ok then
    util.fail(("the login session's dpopKey in %s cannot be used: %s"):format(shown(path), hint(ctx)))
  end
  local body = util.json_encode(util.object {
    { "clientId", tok.clientId }, { "grantType", "refresh_token" }, { "refreshToken", tok.refreshToken },
  })
  local hok, status, headers, rbody = pcall(ctx.http, {
    method = "POST", url = url, body = body,
    headers = { ["Content-Type"] = "application/json", DPoP = proof },
    timeout = M.TIMEOUT, connect_timeout = M.TIMEOUT, ca_file = ctx.ca_file,
  })
  if not hok then
    local e = status
    util.fail(("the sign-in service at %s could not be reached to refresh the login session: %s")
      :format(shown(url), errors.is_error(e)
        and util.excerpt(util.redact(tostring(e.code) .. ": " .. tostring(e.message), secrets), 300)
        or "request failed"))
  end
  local j, code = util.rest_json(headers, rbody)
  if status ~= 200 then
    local etype = type(j) == "table" and type(j.error) == "string" and j.error or ""
    if etype == "TOKEN_EXPIRED" or etype == "USER_CREDENTIALS_CHANGED" then
      util.fail(("the login session has expired (%s): %s"):format(etype, hint(ctx)))
    elseif etype == "INSUFFICIENT_PERMISSIONS" then
      util.fail("the login session lacks the permission to refresh (INSUFFICIENT_PERMISSIONS): "
        .. "ask an administrator for signin:CreateOAuth2Token, then " .. hint(ctx))
    end
    util.fail(("the sign-in service refused to refresh the login session (HTTP %d%s): %s"):format(status,
      code and (" " .. util.excerpt(util.redact(code, secrets), 100)) or "", hint(ctx)))
  end
  local a = type(j) == "table" and j.accessToken
  if type(a) ~= "table" or type(a.accessKeyId) ~= "string" or type(a.secretAccessKey) ~= "string"
      or type(j.expiresIn) ~= "number" or type(j.refreshToken) ~= "string" then
    util.fail("the sign-in service's reply holds no usable tokenOutput; " .. hint(ctx)
      .. " (if it persists, the sign-in service may have a temporary problem)")
  end
  tok.accessToken = {
    accessKeyId = a.accessKeyId, secretAccessKey = a.secretAccessKey, sessionToken = a.sessionToken,
    accountId = type(tok.accessToken) == "table" and tok.accessToken.accountId or nil,
    expiresAt = util.utc_stamp(ctx.now() + j.expiresIn),
  }
  tok.refreshToken = j.refreshToken
  local wok, werr = util.write_file(path, encode_token(tok))
  if not wok then
    util.fail(("the refreshed login session could not be saved: %s; make %s writable, then %s")
      :format(util.excerpt(werr, 300), shown(path:match("^(.*)/") or path), hint(ctx)))
  end
  return to_credentials(ctx, tok, path)
end

function M.load(ctx, profile_name)
  if type(profile_name) == "string" then
    ctx = setmetatable({ profile_name = profile_name }, { __index = ctx })
  end
  local p = ctx.files.profiles[ctx.profile_name]
  local session = type(p) == "table" and p.login_session
  if type(session) ~= "string" then return nil, "no login_session in the profile" end
  local path = M.cache_path(ctx, session)
  local tok, err = util.read_json_file(path)
  if not tok then
    if err == "missing" then
      util.fail(("no cached login session '%s' (%s does not exist): %s"):format(shown(session), shown(path), hint(ctx)))
    end
    util.fail(("the login session cache cannot be used (%s): %s"):format(shown(err), hint(ctx)))
  end
  local missing = {}
  for _, k in ipairs(REQUIRED) do
    if tok[k] == nil then missing[#missing + 1] = k end
  end
  if #missing > 0 then
    util.fail(("the login session cache %s is missing required fields: %s; %s")
      :format(shown(path), table.concat(missing, ", "), hint(ctx)))
  end
  local c = to_credentials(ctx, tok, path)
  if c.expiration - ctx.now() > M.REFRESH_THRESHOLD then return c end
  return refresh(ctx, tok, path)
end

return M

-- IAM Identity Center (SSO) profiles against loopback fakes of the SSO
-- portal and SSO OIDC, with botocore's SSOProvider as the oracle where it
-- runs: same credentials, same requests, same refresh decisions, same cache
-- file after a refresh, same failures.
local config = require "sfn.config"
local errors = require "sfn.errors"
local core = require "sfn.core"
local curl = require "sfn.curl"
local fakes = require "fakes.fakes"
local sso = require "sfn.credentials.sso"
local util = require "sfn.credentials.util"

local ACCESS = "sso-access-token-SHOULD-NOT-LEAK"
local REFRESH = "sso-refresh-token-SHOULD-NOT-LEAK"
local CLIENT_SECRET = "sso-client-secret-SHOULD-NOT-LEAK"
local NEW_ACCESS = "sso-new-access-token-SHOULD-NOT-LEAK"
local NEW_REFRESH = "sso-new-refresh-token-SHOULD-NOT-LEAK"
local ROLE_SECRET = "fake-role-secret-SHOULD-NOT-LEAK"
local SECRETS = { ACCESS, REFRESH, CLIENT_SECRET, NEW_ACCESS, NEW_REFRESH, ROLE_SECRET }
local NOW = 1700000000

local function http(req)
  assert(req.url:match("^https?://127%.0%.0%.1[:/]"), "the suite tried to reach " .. req.url)
  return curl.http_request(req)
end

local function no_secret(text)
  for _, s in ipairs(SECRETS) do
    assert.is_nil(text:find(s, 1, true), "secret leaked: " .. text)
    assert.is_nil(text:find(s:sub(1, 16), 1, true), "secret fragment leaked: " .. text)
  end
end

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(errors.is_error(e), "not an sfn.Error: " .. tostring(e))
  no_secret(tostring(e) .. " " .. tostring(e.message))
  return e
end

-- botocore available? (spec/oracle/botocore_creds.py exits 3 when not)
local have_botocore = os.execute("python3 -c 'import botocore, dateutil' >/dev/null 2>&1")
have_botocore = have_botocore == true or have_botocore == 0

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("SSO credentials", function()
  local home, portal, oidc, clock, logs
  local function now() return clock end

  before_each(function()
    home = fakes.tmpdir()
    os.execute("mkdir -p '" .. home .. "/.aws/sso/cache'")
    clock = NOW
    logs = {}
    sso.reset()
  end)
  after_each(function()
    if portal then portal.stop() portal = nil end
    if oidc then oidc.stop() oidc = nil end
    fakes.rmdir(home)
  end)

  local function start(portal_args, oidc_args)
    portal = fakes.start("sso", portal_args)
    oidc = fakes.start("oidc", oidc_args or { "--refresh-token", REFRESH, "--client-secret", CLIENT_SECRET,
      "--new-token", NEW_ACCESS, "--new-refresh", NEW_REFRESH, "--expires-in", "28800" })
  end

  local function envt(extra)
    local t = {
      HOME = home, AWS_REGION = "eu-west-1", AWS_EC2_METADATA_DISABLED = "true",
      AWS_CONFIG_FILE = home .. "/.aws/config", AWS_SHARED_CREDENTIALS_FILE = home .. "/.aws/credentials",
      AWS_ENDPOINT_URL_SSO = portal and portal.url, AWS_ENDPOINT_URL_SSO_OIDC = oidc and oidc.url,
    }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  local function resolve(profile, extra)
    return config.resolve({ profile = profile, log = function(r) logs[#logs + 1] = r end },
      fakes.env(envt(extra)), { now = now, sleep = function() end, http = http })
  end

  local function write_config(text) fakes.write(home .. "/.aws/config", text) end

  local SESSION_CONFIG = "[profile dev]\nsso_session = corp\nsso_account_id = 111122223333\n"
    .. "sso_role_name = ReadOnly\nregion = eu-west-1\n"
    .. "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
    .. "sso_registration_scopes = sso:account:access\n"
  local LEGACY_CONFIG = "[profile old]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n"
    .. "sso_account_id = 111122223333\nsso_role_name = Admin\n"

  local function token_path(name) return home .. "/.aws/sso/cache/" .. core.sha1_hex(name) .. ".json" end

  local function write_token(name, expires, extra)
    local fields = { { "startUrl", "https://corp.awsapps.com/start" }, { "region", "us-east-1" },
      { "accessToken", ACCESS }, { "expiresAt", expires } }
    if extra then
      fields[#fields + 1] = { "clientId", "client-id-1" }
      fields[#fields + 1] = { "clientSecret", CLIENT_SECRET }
      fields[#fields + 1] = { "registrationExpiresAt", "2099-01-01T00:00:00Z" }
      fields[#fields + 1] = { "refreshToken", REFRESH }
    end
    local text = util.json_encode(util.object(fields))
    fakes.write(token_path(name), text)
    return text
  end

  -- botocore against the same fakes and files: its answer and its requests
  local function oracle(profile, extra)
    local env = envt(extra)
    local parts = { "env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN" }
    for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. sh_quote(v) end
    parts[#parts + 1] = "python3 spec/oracle/botocore_creds.py " .. sh_quote(profile) .. " " .. clock
    local p = assert(io.popen(table.concat(parts, " ") .. " 2>/dev/null"))
    local out = p:read("*a")
    p:close()
    return core.json_decode(out)
  end

  -- requests logged by a fake since index `from`, reduced to what matters
  local function requests(fake, from)
    local out = {}
    for i, r in ipairs(fake.requests()) do
      if i > (from or 0) and r.method then
        local path, query = r.path:match("^([^?]*)%??(.*)$")
        local q = {}
        for k, v in query:gmatch("([^&=]+)=([^&]*)") do q[k] = v end
        out[#out + 1] = { method = r.method, path = path, query = q,
          bearer = r.headers["x-amz-sso_bearer_token"], ctype = r.headers["content-type"],
          body = r.body ~= "" and core.json_decode(r.body) or nil }
      end
    end
    return out
  end

  local function same_as_botocore(profile, setup)
    setup()
    local want = oracle(profile)
    local py_portal, py_oidc = #portal.requests(), #oidc.requests()
    local py_cache = fakes.read(token_path("corp")) or fakes.read(token_path("https://old.awsapps.com/start"))
    setup()
    local ok, got = pcall(function() return resolve(profile).credentials() end)
    local our_cache = fakes.read(token_path("corp")) or fakes.read(token_path("https://old.awsapps.com/start"))
    return want, ok, got, {
      py = { portal = requests(portal, 0), oidc = requests(oidc, 0), cache = py_cache },
      py_n = { py_portal, py_oidc },
      ours = { portal = requests(portal, py_portal), oidc = requests(oidc, py_oidc), cache = our_cache },
    }
  end

  local function only_py(r)
    local py = { portal = {}, oidc = {} }
    for i = 1, r.py_n[1] do py.portal[i] = r.py.portal[i] end
    for i = 1, r.py_n[2] do py.oidc[i] = r.py.oidc[i] end
    return py
  end

  describe("against botocore", function()
    if not have_botocore then
      pending("botocore is not installed")
      return
    end

    it("sso-session profile: same credentials and the same portal request", function()
      start()
      local want, ok, got, r = same_as_botocore("dev", function()
        write_config(SESSION_CONFIG)
        write_token("corp", "2099-01-01T00:00:00Z", true)
      end)
      assert.is_true(ok, tostring(got))
      assert.equal(want.access_key, got.access_key_id)
      assert.equal(want.secret_key, got.secret_access_key)
      assert.equal(want.token, got.session_token)
      assert.equal(want.expiry, got.expiration)
      local py = only_py(r)
      assert.same(py.portal, r.ours.portal)
      assert.same({ { method = "GET", path = "/federation/credentials",
        query = { role_name = "ReadOnly", account_id = "111122223333" }, bearer = ACCESS } },
        (function() local t = {} for _, x in ipairs(r.ours.portal) do t[#t + 1] = { method = x.method,
          path = x.path, query = x.query, bearer = x.bearer } end return t end)())
      assert.same({}, py.oidc)
      assert.same({}, r.ours.oidc)
    end)

    it("legacy profile: same credentials and request, token file named by the start URL", function()
      start()
      local want, ok, got, r = same_as_botocore("old", function()
        write_config(LEGACY_CONFIG)
        write_token("https://old.awsapps.com/start", "2099-01-01T00:00:00Z")
      end)
      assert.is_true(ok, tostring(got))
      assert.equal(want.access_key, got.access_key_id)
      assert.equal(want.expiry, got.expiration)
      assert.same(only_py(r).portal, r.ours.portal)
      assert.equal(1, #r.ours.portal)
    end)

    it("a token with under 15 minutes left is refreshed: same OIDC request, same cache file after", function()
      start { "--access-token", NEW_ACCESS }
      local want, ok, got, r = same_as_botocore("dev", function()
        write_config(SESSION_CONFIG)
        write_token("corp", util.utc_stamp(NOW + 600), true)
      end)
      assert.is_true(ok, tostring(got))
      assert.equal(want.access_key, got.access_key_id)
      local py = only_py(r)
      assert.equal(1, #py.oidc)
      assert.same(py.oidc, r.ours.oidc)
      assert.same({ clientId = "client-id-1", clientSecret = CLIENT_SECRET, grantType = "refresh_token",
        refreshToken = REFRESH }, r.ours.oidc[1].body)
      assert.equal("POST", r.ours.oidc[1].method)
      assert.equal("/token", r.ours.oidc[1].path)
      -- the portal saw the new token on both sides
      assert.equal(NEW_ACCESS, r.ours.portal[1].bearer)
      assert.same(py.portal, r.ours.portal)
      -- byte for byte the file botocore wrote
      assert.equal(r.py.cache, r.ours.cache)
      local doc = core.json_decode(r.ours.cache)
      assert.equal(util.utc_stamp(NOW + 28800), doc.expiresAt)
      assert.equal(NEW_REFRESH, doc.refreshToken)
      -- mode 0600
      local p = io.popen("stat -c %a " .. sh_quote(token_path("corp")))
      assert.equal("600", p:read("*l"))
      p:close()
    end)

    it("a token with 20 minutes left is not refreshed (same decision)", function()
      start()
      local _, ok, _, r = same_as_botocore("dev", function()
        write_config(SESSION_CONFIG)
        write_token("corp", util.utc_stamp(NOW + 1200), true)
      end)
      assert.is_true(ok)
      assert.same({}, only_py(r).oidc)
      assert.same({}, r.ours.oidc)
    end)

    local failures = {
      { "an expired token that cannot be refreshed", "dev", function()
          write_config(SESSION_CONFIG)
          write_token("corp", "2020-01-01T00:00:00Z")
        end, "aws sso login --profile dev" },
      { "an expired legacy token", "old", function()
          write_config(LEGACY_CONFIG)
          write_token("https://old.awsapps.com/start", "2020-01-01T00:00:00Z")
        end, "aws sso login --profile old" },
      { "a missing cache file", "dev", function()
          write_config(SESSION_CONFIG)
          os.remove(token_path("corp"))
        end, "aws sso login --profile dev" },
      { "a malformed cache file", "dev", function()
          write_config(SESSION_CONFIG)
          fakes.write(token_path("corp"), "{not json " .. ACCESS)
        end, "aws sso login --profile dev" },
      { "a cache file without accessToken", "dev", function()
          write_config(SESSION_CONFIG)
          fakes.write(token_path("corp"), '{"expiresAt": "2099-01-01T00:00:00Z"}')
        end, "aws sso login --profile dev" },
      { "a profile/sso-session mismatch", "dev", function()
          write_config(SESSION_CONFIG:gsub("sso_role_name = ReadOnly\n",
            "sso_role_name = ReadOnly\nsso_region = eu-west-1\n"))
          write_token("corp", "2099-01-01T00:00:00Z")
        end, "inconsistent", "ConfigError" },
      { "a missing sso-session section", "dev", function()
          write_config(SESSION_CONFIG:gsub("%[sso%-session corp%]", "[sso-session other]"))
        end, "does not exist", "ConfigError" },
      { "a profile missing sso_role_name", "dev", function()
          write_config(SESSION_CONFIG:gsub("sso_role_name = ReadOnly\n", ""))
        end, "sso_role_name", "ConfigError" },
    }
    for _, case in ipairs(failures) do
      it(case[1] .. ": botocore fails, so do we, saying what to do", function()
        start()
        case[3]()
        local want = oracle(case[2])
        assert.is_string(want.error, "botocore did not fail")
        case[3]()
        local e = err_of(function() return resolve(case[2]).credentials() end)
        assert.equal(case[5] or "CredentialsError", e.code)
        assert.truthy(e.message:find(case[4], 1, true), e.message)
      end)
    end

    it("portal 401: botocore's UnauthorizedSSOTokenError, our CredentialsError saying to log in", function()
      start { "--access-token", "something-else" }
      write_config(SESSION_CONFIG)
      write_token("corp", "2099-01-01T00:00:00Z")
      assert.equal("UnauthorizedSSOTokenError", oracle("dev").error)
      local e = err_of(function() return resolve("dev").credentials() end)
      assert.equal("CredentialsError", e.code)
      assert.truthy(e.message:find("aws sso login --profile dev", 1, true))
    end)
  end)

  describe("refresh and failures", function()
    it("portal 403: a CredentialsError naming the role and account", function()
      start { "--status", "403" }
      write_config(SESSION_CONFIG)
      write_token("corp", "2099-01-01T00:00:00Z")
      local e = err_of(function() return resolve("dev").credentials() end)
      assert.truthy(e.message:find("ReadOnly", 1, true) and e.message:find("111122223333", 1, true), e.message)
    end)

    it("portal 500 echoing the token and a garbage 200: CredentialsError without the token", function()
      start { "--status", "500" }
      write_config(SESSION_CONFIG)
      write_token("corp", "2099-01-01T00:00:00Z")
      err_of(function() return resolve("dev").credentials() end)
      portal.stop()
      portal = fakes.start("sso", { "--garbage" })
      err_of(function() return resolve("dev").credentials() end)
    end)

    it("a refused refresh keeps a still-valid token, logs why without secrets, and retries at most once a minute", function()
      start(nil, { "--error", "InvalidGrantException" })
      write_config(SESSION_CONFIG)
      write_token("corp", util.utc_stamp(NOW + 600), true)
      local c = resolve("dev").credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      assert.equal(ACCESS, requests(portal)[1].bearer)
      assert.equal(1, #requests(oidc))
      for _, r in ipairs(logs) do no_secret(r.message) end
      assert.truthy(logs[1] and logs[1].message:find("InvalidGrantException", 1, true))
      -- another client 30 s later: no new attempt; 61 s later: one more
      clock = NOW + 30
      sso.load(setmetatable({ now = now, http = http }, { __index = function(_, k)
        return ({ getenv = fakes.env(envt()), files = require("sfn.profile").load(fakes.env(envt())),
          profile_name = "dev" })[k] end }))
      assert.equal(1, #requests(oidc))
      clock = NOW + 91
      local ctx = { now = now, http = http, getenv = fakes.env(envt()),
        files = require("sfn.profile").load(fakes.env(envt())), profile_name = "dev" }
      sso.load(ctx)
      assert.equal(2, #requests(oidc))
    end)

    it("an expired token whose refresh is refused: CredentialsError saying to log in", function()
      start(nil, { "--error", "InvalidGrantException" })
      write_config(SESSION_CONFIG)
      write_token("corp", "2020-01-01T00:00:00Z", true)
      local e = err_of(function() return resolve("dev").credentials() end)
      assert.truthy(e.message:find("aws sso login --profile dev", 1, true), e.message)
      assert.truthy(e.message:find("could not be refreshed", 1, true), e.message)
    end)

    it("a cache directory that cannot be written: CredentialsError saying what to do", function()
      start()
      write_config(SESSION_CONFIG)
      write_token("corp", util.utc_stamp(NOW + 600), true)
      -- root writes anywhere: make the write fail where it lands
      local real = core.write_file_atomic
      core.write_file_atomic = function(path)
        return nil, "cannot create a temporary file next to " .. path .. ": Permission denied", "unwritable"
      end
      local ok, e = pcall(function() return resolve("dev").credentials() end)
      core.write_file_atomic = real
      assert.is_false(ok)
      assert.equal("CredentialsError", e.code)
      no_secret(tostring(e))
      assert.truthy(e.message:find("writable", 1, true), e.message)
    end)

    it("the services section reaches the fakes too", function()
      start()
      write_config(SESSION_CONFIG:gsub("region = eu%-west%-1\n", "region = eu-west-1\nservices = local\n")
        .. "[services local]\nsso =\n  endpoint_url = " .. portal.url .. "\n")
      write_token("corp", "2099-01-01T00:00:00Z")
      local c = config.resolve({ profile = "dev" }, fakes.env { HOME = home, AWS_REGION = "eu-west-1",
        AWS_CONFIG_FILE = home .. "/.aws/config", AWS_SHARED_CREDENTIALS_FILE = home .. "/nonexistent" },
        { now = now, http = http }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
    end)

    it("SSO comes before the shared credentials file (botocore's order)", function()
      start()
      write_config(SESSION_CONFIG)
      write_token("corp", "2099-01-01T00:00:00Z")
      fakes.write(home .. "/.aws/credentials", "[dev]\naws_access_key_id = AKSHARED\naws_secret_access_key = x\n")
      assert.equal("ASIAFAKEROLEKEY", resolve("dev").credentials().access_key_id)
    end)

    it("an SSO profile can be a source_profile", function()
      start()
      write_config(SESSION_CONFIG .. "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = dev\n")
      write_token("corp", "2099-01-01T00:00:00Z")
      local ctx = { now = now, http = http, getenv = fakes.env(envt()),
        files = require("sfn.profile").load(fakes.env(envt())), profile_name = "role" }
      local c = require("sfn.credentials.sso").load(ctx, "dev")
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
    end)
  end)
end)

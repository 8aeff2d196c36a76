-- `aws login` sessions (login_session): the cache under ~/.aws/login/cache
-- or AWS_LOGIN_CACHE_DIRECTORY, refresh with a DPoP proof verified
-- independently by the loopback sign-in fake (Python `cryptography`:
-- signature with the JWK's public key, claims htm, htu, iat, jti).
-- botocore's LoginProvider needs awscrt, which is not installed here: the
-- fake is the oracle for the proof.
local config = require "sfn.config"
local credentials = require "sfn.credentials"
local errors = require "sfn.errors"
local core = require "sfn.core"
local curl = require "sfn.curl"
local fakes = require "fakes.fakes"
local util = require "sfn.credentials.util"

local REFRESH = "login-refresh-token-SHOULD-NOT-LEAK"
local OLD_SECRET = "login-old-secret-SHOULD-NOT-LEAK"
local ROLE_SECRET = "fake-role-secret-SHOULD-NOT-LEAK"
local NOW = 1700000000

local function http(req)
  assert(req.url:match("^https?://127%.0%.0%.1[:/]"), "the suite tried to reach " .. req.url)
  return curl.http_request(req)
end

describe("login sessions", function()
  local home, signin, key, secrets

  local function sh(cmd)
    local p = assert(io.popen(cmd))
    local out = p:read("*a")
    p:close()
    return out
  end

  before_each(function()
    home = fakes.tmpdir()
    os.execute("mkdir -p '" .. home .. "/.aws/login/cache'")
    key = sh("openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null")
    secrets = { REFRESH, OLD_SECRET, ROLE_SECRET, key:match("\n([^\n]+)\n") }
    credentials.clear_cache()
  end)
  after_each(function()
    if signin then signin.stop() signin = nil end
    fakes.rmdir(home)
  end)

  local function no_secret(text)
    for _, s in ipairs(secrets) do
      assert.is_nil(text:find(s, 1, true), "secret leaked: " .. text)
    end
  end

  local function write_session(dir, expires, fields)
    local doc = util.object {
      { "accessToken", util.object {
        { "accessKeyId", "ASIAOLD" }, { "secretAccessKey", OLD_SECRET }, { "sessionToken", "old-token" },
        { "accountId", "111122223333" }, { "expiresAt", expires } } },
      { "tokenType", "aws_sigv4" }, { "clientId", "arn:aws:signin:::devtools/same-device" },
      { "refreshToken", REFRESH }, { "dpopKey", key },
    }
    if fields then doc = fields end
    local path = dir .. "/" .. core.sha256_hex("arn:aws:iam::111122223333:user/alice") .. ".json"
    fakes.write(path, util.json_encode(doc))
    return path
  end

  local function resolve(extra)
    local env = {
      HOME = home, AWS_REGION = "us-east-1", AWS_EC2_METADATA_DISABLED = "true",
      AWS_CONFIG_FILE = home .. "/.aws/config", AWS_SHARED_CREDENTIALS_FILE = home .. "/nonexistent",
      AWS_ENDPOINT_URL_SIGNIN = signin and signin.url,
    }
    for k, v in pairs(extra or {}) do env[k] = v end
    fakes.write(home .. "/.aws/config",
      "[profile me]\nlogin_session = arn:aws:iam::111122223333:user/alice\nregion = us-east-1\n")
    return config.resolve({ profile = "me" }, fakes.env(env), { now = function() return NOW end, http = http })
  end

  local function err_of(f)
    local ok, e = pcall(f)
    assert.is_false(ok, "expected an error")
    assert.is_true(errors.is_error(e), tostring(e))
    no_secret(tostring(e) .. " " .. tostring(e.message))
    return e
  end

  it("uses the cached credentials while more than 5 minutes remain, without a request", function()
    signin = fakes.start("signin", { "--refresh-token", REFRESH })
    write_session(home .. "/.aws/login/cache", util.utc_stamp(NOW + 3600))
    local c = resolve().credentials()
    assert.equal("ASIAOLD", c.access_key_id)
    assert.equal(NOW + 3600, c.expiration)
    assert.equal(0, #signin.requests())
  end)

  it("refreshes with a valid DPoP proof and writes the session back (0600)", function()
    signin = fakes.start("signin", { "--refresh-token", REFRESH })
    local path = write_session(home .. "/.aws/login/cache", util.utc_stamp(NOW + 120))
    local c = resolve().credentials()
    assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
    assert.equal(NOW + 900, c.expiration)
    local reqs, dpop = {}, nil
    for _, r in ipairs(signin.requests()) do
      if r.method then reqs[#reqs + 1] = r else dpop = r.dpop end
    end
    assert.equal(1, #reqs)
    assert.equal("POST", reqs[1].method)
    assert.equal("/v1/token", reqs[1].path)
    assert.same({ clientId = "arn:aws:signin:::devtools/same-device", grantType = "refresh_token",
      refreshToken = REFRESH }, core.json_decode(reqs[1].body))
    assert.is_true(dpop.ok, tostring(dpop.why))
    assert.equal("dpop+jwt", dpop.header.typ)
    assert.equal("ES256", dpop.header.alg)
    assert.equal("P-256", dpop.header.jwk.crv)
    assert.equal("POST", dpop.claims.htm)
    assert.equal(signin.url .. "/v1/token", dpop.claims.htu)
    assert.equal(NOW, dpop.claims.iat)
    assert.truthy(dpop.claims.jti:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"), dpop.claims.jti)
    -- written back: new keys and refresh token, the rest kept
    local doc = core.json_decode(fakes.read(path))
    assert.equal("ASIAFAKEROLEKEY", doc.accessToken.accessKeyId)
    assert.equal("111122223333", doc.accessToken.accountId)
    assert.equal(util.utc_stamp(NOW + 900), doc.accessToken.expiresAt)
    assert.equal("login-new-refresh-SHOULD-NOT-LEAK", doc.refreshToken)
    assert.equal(key, doc.dpopKey)
    assert.equal("600", sh("stat -c %a '" .. path .. "'"):match("%d+"))
  end)

  it("two proofs never share a jti", function()
    local a = core.dpop_proof(key, "POST", "https://x/v1/token", NOW)
    local b = core.dpop_proof(key, "POST", "https://x/v1/token", NOW)
    assert.are_not.equal(a:match("^[^.]+%.([^.]+)"), b:match("^[^.]+%.([^.]+)"))
  end)

  it("AWS_LOGIN_CACHE_DIRECTORY moves the cache", function()
    signin = fakes.start("signin", { "--refresh-token", REFRESH })
    os.execute("mkdir -p '" .. home .. "/elsewhere'")
    write_session(home .. "/elsewhere", util.utc_stamp(NOW + 3600))
    assert.equal("ASIAOLD", resolve({ AWS_LOGIN_CACHE_DIRECTORY = "$HOME/elsewhere" }).credentials().access_key_id)
  end)

  it("an expired session: CredentialsError saying to run aws login", function()
    signin = fakes.start("signin", { "--error", "TOKEN_EXPIRED" })
    write_session(home .. "/.aws/login/cache", util.utc_stamp(NOW - 60))
    local e = err_of(function() return resolve().credentials() end)
    assert.equal("CredentialsError", e.code)
    assert.truthy(e.message:find("aws login --profile me", 1, true), e.message)
  end)

  it("a missing cache, a missing field, a bad key: CredentialsErrors saying to run aws login", function()
    signin = fakes.start("signin", { "--refresh-token", REFRESH })
    local e = err_of(function() return resolve().credentials() end)
    assert.truthy(e.message:find("aws login", 1, true), e.message)
    write_session(home .. "/.aws/login/cache", nil, util.object { { "clientId", "c" } })
    e = err_of(function() return resolve().credentials() end)
    assert.truthy(e.message:find("refreshToken", 1, true), e.message)
    credentials.clear_cache()
    key = "-----BEGIN EC PRIVATE KEY-----\nnot a key " .. REFRESH .. "\n-----END EC PRIVATE KEY-----\n"
    write_session(home .. "/.aws/login/cache", util.utc_stamp(NOW - 60))
    e = err_of(function() return resolve({ HOME = home, X = "1" }).credentials() end)
    assert.truthy(e.message:find("dpopKey", 1, true), e.message)
  end)
end)

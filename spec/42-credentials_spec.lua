-- The credential provider chain against real loopback fakes (spec/fakes/),
-- temporary HOME directories and a controllable clock.
local config = require "sfn.config"
local credentials = require "sfn.credentials"
local errors = require "sfn.errors"
local core = require "sfn.core"
local curl = require "sfn.curl"
local fakes = require "fakes.fakes"

local SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
local ROLE_SECRET = "fake-role-secret-SHOULD-NOT-LEAK"

-- Every HTTP request of the suite goes through here: nothing but 127.0.0.1.
local contacted = {}
local function http(req)
  contacted[#contacted + 1] = req.url
  assert(req.url:match("^https?://127%.0%.0%.1[:/]"), "the suite tried to reach " .. req.url)
  return curl.http_request(req)
end

local clock = { t = 1700000000 }
local function now() return clock.t end
local function nosleep() end
local function deps(extra)
  local d = { now = now, sleep = nosleep, http = http }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

local function no_secret(e)
  local s = tostring(e) .. " " .. tostring(e.message)
  assert.is_nil(s:find(SECRET, 1, true), "secret leaked: " .. s)
  assert.is_nil(s:find(ROLE_SECRET, 1, true), "secret leaked: " .. s)
end

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(errors.is_error(e), "not an sfn.Error: " .. tostring(e))
  no_secret(e)
  return e
end

describe("credentials", function()
  local home, base
  before_each(function()
    home = fakes.tmpdir()
    os.execute("mkdir -p '" .. home .. "/.aws'")
    base = { HOME = home, AWS_REGION = "us-east-1", AWS_EC2_METADATA_DISABLED = "true" }
    clock.t = 1700000000
  end)
  after_each(function() fakes.rmdir(home) end)

  local function env(t)
    local e = {}
    for k, v in pairs(base) do e[k] = v end
    for k, v in pairs(t or {}) do e[k] = v end
    return fakes.env(e)
  end
  local function resolve(opts, t, d)
    return config.resolve(opts or {}, env(t), deps(d))
  end
  local function write_config(text) fakes.write(home .. "/.aws/config", text) end
  local function write_credentials(text) fakes.write(home .. "/.aws/credentials", text) end
  local function script(name, body)
    local path = home .. "/" .. name
    fakes.write(path, "#!/bin/sh\n" .. body .. "\n")
    os.execute("chmod +x '" .. path .. "'")
    return path
  end

  describe("environment", function()
    it("reads the keys, the token and its AWS_SECURITY_TOKEN fallback", function()
      local c = resolve({}, { AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = SECRET, AWS_SESSION_TOKEN = "tok" }).credentials()
      assert.same({ access_key_id = "AKENV", secret_access_key = SECRET, session_token = "tok" }, c)
      c = resolve({}, { AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = SECRET, AWS_SECURITY_TOKEN = "old" }).credentials()
      assert.equal("old", c.session_token)
    end)
    it("partial keys are a CredentialsError", function()
      local e = err_of(resolve({}, { AWS_ACCESS_KEY_ID = "AKENV" }).credentials)
      assert.equal("CredentialsError", e.code)
    end)
    it("AWS_CREDENTIAL_EXPIRATION makes them expire", function()
      local c = resolve({}, { AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = SECRET,
        AWS_CREDENTIAL_EXPIRATION = "2023-11-14T23:13:20Z" }).credentials()
      assert.equal(1700003600, c.expiration)
    end)
  end)

  describe("precedence", function()
    before_each(function()
      write_credentials("[default]\naws_access_key_id = AKSHARED\naws_secret_access_key = " .. SECRET .. "\n"
        .. "[p]\naws_access_key_id = AKSHAREDP\naws_secret_access_key = " .. SECRET .. "\n")
      write_config("[default]\naws_access_key_id = AKCONFIG\naws_secret_access_key = " .. SECRET .. "\n"
        .. "credential_process = " .. script("proc.sh",
          [[echo '{"Version":1,"AccessKeyId":"AKPROC","SecretAccessKey":"s"}']]) .. "\n"
        .. "[profile p]\nregion = us-east-1\n"
        .. "[profile onlyconfig]\naws_access_key_id = AKCONFIG2\naws_secret_access_key = " .. SECRET .. "\n"
        .. "credential_process = " .. home .. "/proc.sh\n")
    end)
    local envkeys = { AWS_ACCESS_KEY_ID = "AKENV", AWS_SECRET_ACCESS_KEY = SECRET }
    it("explicit beats environment", function()
      local c = resolve({ credentials = { access_key_id = "AKEXPL", secret_access_key = SECRET } }, envkeys).credentials()
      assert.equal("AKEXPL", c.access_key_id)
    end)
    it("environment beats the shared credentials file", function()
      assert.equal("AKENV", resolve({}, envkeys).credentials().access_key_id)
    end)
    it("AWS_PROFILE keeps the environment first", function()
      local t = { AWS_PROFILE = "p" }
      for k, v in pairs(envkeys) do t[k] = v end
      assert.equal("AKENV", resolve({}, t).credentials().access_key_id)
    end)
    it("an explicit profile option skips the environment (botocore)", function()
      assert.equal("AKSHAREDP", resolve({ profile = "p" }, envkeys).credentials().access_key_id)
    end)
    it("the shared credentials file beats credential_process and the config file", function()
      assert.equal("AKSHARED", resolve().credentials().access_key_id)
    end)
    it("credential_process beats keys in the config file", function()
      assert.equal("AKPROC", resolve({ profile = "onlyconfig" }).credentials().access_key_id)
    end)
    it("the config file is used last among files", function()
      write_config("[profile onlyconfig]\naws_access_key_id = AKCONFIG2\naws_secret_access_key = " .. SECRET .. "\n")
      assert.equal("AKCONFIG2", resolve({ profile = "onlyconfig" }).credentials().access_key_id)
    end)
    it("nothing anywhere: CredentialsError listing what was tried", function()
      write_config("")
      write_credentials("")
      local e = err_of(resolve().credentials)
      assert.equal("CredentialsError", e.code)
      for _, name in ipairs { "env", "assume-role", "web-identity", "shared-credentials-file",
        "credential-process", "config-file", "container", "imds" } do
        assert.truthy(e.message:find(name, 1, true), name)
      end
    end)
  end)

  describe("credential_process", function()
    local function with_process(cmd)
      write_config("[default]\ncredential_process = " .. cmd .. "\n")
    end
    it("runs the command without a shell, splitting like shlex", function()
      local p = script("args.sh", [[printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","SessionToken":"t","Expiration":"2099-01-01T00:00:00Z"}' "$1" "$2"]])  -- luacheck: ignore 631
      with_process(p .. [[ "AK WITH SPACE" 'x;$(id)']])
      local c = resolve().credentials()
      assert.equal("AK WITH SPACE", c.access_key_id)
      assert.equal("x;$(id)", c.secret_access_key)
      assert.equal(4070908800, c.expiration)
    end)
    it("non-zero exit: CredentialsError with stderr, never the secret", function()
      local p = script("fail.sh", [[echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"]] .. SECRET
        .. [["}'; echo "cannot reach SSO ]] .. SECRET .. [[" >&2; exit 3]])
      with_process(p)
      local e = err_of(resolve().credentials)
      assert.equal("CredentialsError", e.code)
      assert.truthy(e.message:find("status 3", 1, true))
      assert.truthy(e.message:find("cannot reach SSO", 1, true))
    end)
    for _, case in ipairs {
      { "bad JSON", [[echo not json]] },
      { "a wrong Version", [[echo '{"Version":2,"AccessKeyId":"A","SecretAccessKey":"S"}']] },
      { "missing keys", [[echo '{"Version":1,"AccessKeyId":"A"}']] },
      { "a bad Expiration", [[echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"soon"}']] },
    } do
      it(case[1] .. " is a CredentialsError", function()
        with_process(script("bad.sh", case[2]))
        assert.equal("CredentialsError", err_of(resolve().credentials).code)
      end)
    end
    it("a command that hangs is killed at the timeout", function()
      with_process(script("hang.sh", "exec sleep 30"))
      local t0 = os.time()
      local e = err_of(resolve({}, {}, { process_timeout = 0.5 }).credentials)
      assert.equal("CredentialsError", e.code)
      assert.truthy(e.message:find("timed out", 1, true))
      assert.is_true(os.time() - t0 <= 3)
    end)
    it("a missing program and unbalanced quotes are CredentialsErrors", function()
      with_process(home .. "/does-not-exist")
      assert.equal("CredentialsError", err_of(resolve().credentials).code)
      with_process([[echo "open]])
      assert.equal("CredentialsError", err_of(resolve().credentials).code)
    end)
  end)

  describe("refresh", function()
    local function counting(results)
      local n = 0
      return {
        name = "counting",
        load = function()
          n = n + 1
          local r = results[n] or results[#results]
          if r == "fail" then error(errors.new("CredentialsError", "refresh failed"), 0) end
          return r
        end,
      }, function() return n end
    end
    local function temp(id, exp) return { access_key_id = id, secret_access_key = SECRET, expiration = exp } end

    it("caches: no provider is asked on every call", function()
      local p, calls = counting { temp("A", clock.t + 3600) }
      local get = resolve({}, {}, { providers = { p } }).credentials
      for _ = 1, 5 do assert.equal("A", get().access_key_id) end
      assert.equal(1, calls())
    end)
    it("advisory window (15 min): refreshes, keeps the old ones on failure", function()
      local p, calls = counting { temp("A", clock.t + 3600), "fail", temp("B", clock.t + 7200) }
      local logged = {}
      local get = resolve({ log = function(m) logged[#logged + 1] = m end }, {}, { providers = { p } }).credentials
      get()
      clock.t = clock.t + 3600 - 14 * 60
      assert.equal("A", get().access_key_id)
      assert.equal(2, calls())
      assert.equal(1, #logged)
      assert.equal("B", get().access_key_id)
      assert.equal(3, calls())
    end)
    it("mandatory window (10 min): a failed refresh raises", function()
      local p = counting { temp("A", clock.t + 3600), "fail" }
      local get = resolve({}, {}, { providers = { p } }).credentials
      get()
      clock.t = clock.t + 3600 - 9 * 60
      assert.equal("CredentialsError", err_of(get).code)
    end)
    it("mandatory: refreshed credentials with 6 minutes left are taken (botocore)", function()
      local p, calls = counting { temp("A", clock.t + 3600), temp("B", clock.t + 3600 + 5 * 60) }
      local get = resolve({}, {}, { providers = { p } }).credentials
      get()
      clock.t = clock.t + 3600 - 60
      assert.equal("B", get().access_key_id)
      assert.equal(2, calls())
    end)
    it("mandatory: refreshed credentials that have already expired raise", function()
      local p = counting { temp("A", clock.t + 3600), temp("B", clock.t + 3600 - 120) }
      local get = resolve({}, {}, { providers = { p } }).credentials
      get()
      clock.t = clock.t + 3600 - 60
      local e = err_of(get)
      assert.equal("CredentialsError", e.code)
      assert.truthy(e.message:find("still expired", 1, true))
    end)
    it("force_refresh: refreshed credentials that have already expired raise", function()
      local p = counting { temp("A", clock.t + 3600), temp("B", clock.t - 1) }
      local get = resolve({}, {}, { providers = { p } }).credentials
      get()
      assert.equal("CredentialsError", err_of(get, true).code)
    end)
    it("force_refresh forces one refresh", function()
      local p, calls = counting { temp("A", clock.t + 3600), temp("B", clock.t + 3600) }
      local get = resolve({}, {}, { providers = { p } }).credentials
      assert.equal("A", get().access_key_id)
      assert.equal("B", get(true).access_key_id)
      assert.equal("B", get().access_key_id)
      assert.equal(2, calls())
    end)
    it("credentials without expiration never refresh on their own", function()
      local p, calls = counting { { access_key_id = "S", secret_access_key = SECRET } }
      local get = resolve({}, {}, { providers = { p } }).credentials
      get()
      clock.t = clock.t + 10 * 365 * 86400
      get()
      assert.equal(1, calls())
    end)
    it("a credentials function with an expiration is called again near expiry", function()
      local n = 0
      local get = resolve({ credentials = function()
        n = n + 1
        return temp("F" .. n, clock.t + 3600)
      end }).credentials
      assert.equal("F1", get().access_key_id)
      clock.t = clock.t + 3000
      assert.equal("F2", get().access_key_id)
    end)
  end)

  describe("per-process cache", function()
    local function counting_provider()
      local n = 0
      return {
        name = "counting",
        load = function(ctx)
          n = n + 1
          return { access_key_id = "K-" .. ctx.profile_name .. "-" .. n, secret_access_key = SECRET,
                   expiration = clock.t + 3600 }
        end,
      }, function() return n end
    end

    it("clients with the same configuration share one fetch", function()
      local p, calls = counting_provider()
      local providers = { p }
      local a = resolve({}, {}, { providers = providers }).credentials
      local b = resolve({}, {}, { providers = providers }).credentials
      assert.are_not.equal(a, b)
      assert.equal("K-default-1", a().access_key_id)
      assert.equal("K-default-1", b().access_key_id)
      assert.equal(1, calls())
      -- a refresh made through one client serves the other
      assert.equal("K-default-2", b(true).access_key_id)
      assert.equal("K-default-2", a().access_key_id)
      assert.equal(2, calls())
    end)
    it("another profile, environment or region is another entry", function()
      write_config("[default]\n[profile other]\n")
      local p, calls = counting_provider()
      local providers = { p }
      local function key(opts, t) return resolve(opts, t, { providers = providers }).credentials().access_key_id end
      assert.equal("K-default-1", key({}, {}))
      assert.equal("K-other-2", key({ profile = "other" }, {}))
      assert.equal("K-other-3", key({}, { AWS_PROFILE = "other" }))
      assert.equal("K-default-4", key({}, { AWS_ROLE_ARN = "arn:aws:iam::1:role/x" }))
      assert.equal("K-default-5", key({ region = "eu-west-1" }, {}))
      assert.equal(5, calls())
      -- and each again: all cached
      resolve({ profile = "other" }, {}, { providers = providers }).credentials()
      resolve({}, {}, { providers = providers }).credentials()
      assert.equal(5, calls())
    end)
    it("the real chain: a second client reads no file and runs no process", function()
      local marker = home .. "/ran"
      write_config("[default]\ncredential_process = " .. script("p.sh", "echo x >> '" .. marker .. "'\n"
        .. [[echo '{"Version":1,"AccessKeyId":"AKP","SecretAccessKey":"s3cr3t-value",]]
        .. [["Expiration":"2099-01-01T00:00:00Z"}']])
        .. "\n")
      local d = { now = now, sleep = function() end }
      for _ = 1, 3 do
        assert.equal("AKP", config.resolve({}, env(), d).credentials().access_key_id)
      end
      assert.equal("x\n", fakes.read(marker))
    end)
    it("shared_dict: a string, ignored outside OpenResty; another type is a ConfigError", function()
      assert.equal("function", type(resolve({ shared_dict = "sfn_credentials" }).credentials))
      for _, bad in ipairs { 5, "", true, {} } do
        assert.equal("ConfigError", err_of(resolve, { shared_dict = bad }).code)
      end
    end)
    it("explicit credentials functions are not shared", function()
      local n = 0
      local function f()
        n = n + 1
        return { access_key_id = "F" .. n, secret_access_key = SECRET }
      end
      assert.equal("F1", resolve({ credentials = f }).credentials().access_key_id)
      assert.equal("F2", resolve({ credentials = f }).credentials().access_key_id)
    end)
  end)

  describe("the call's I/O", function()
    local server
    before_each(function() server = fakes.start("container", { "--fail", "1" }) end)
    after_each(function() server.stop() end)
    local function no_seams() return { now = now } end

    it("providers use io.http and io.sleep when the call brings them", function()
      local get = config.resolve({}, env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/c" }, no_seams())
        .credentials
      local seen, slept = {}, {}
      local io = {
        http = function(req)
          seen[#seen + 1] = req.method .. " " .. req.url
          return curl.http_request(req)
        end,
        sleep = function(s) slept[#slept + 1] = s end,
      }
      assert.equal("ASIAFAKEROLEKEY", get(false, io).access_key_id)
      assert.same({ "GET " .. server.url .. "/c", "GET " .. server.url .. "/c" }, seen)
      assert.same({ 1 }, slept)
    end)
    it("the Lua driver passes its send function and sleep", function()
      local driver = require "sfn.driver"
      local cfg = config.resolve({ endpoint = "http://127.0.0.1:9", max_attempts = 1,
        sleep = function() end },
        env { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/c" }, no_seams())
      local policy = core.new_client {
        endpoint = cfg.endpoint, region = cfg.region, credentials = cfg.credentials, max_attempts = 1,
        connect_timeout = 1, timeout = 5, user_agent = "spec", sleep = cfg.sleep, retry_mode = "standard",
      }
      local sent = {}
      local function send(req)
        sent[#sent + 1] = req.url
        if req.url:find(server.url, 1, true) == 1 then
          -- the provider's request, in the transport's shape
          assert.equal("string", type(req.body))
          assert.equal("number", type(req.timeout))
          local status, headers, body = curl.http_request(req)
          return status, headers, body, "OK"
        end
        assert.truthy(req.headers.Authorization or req.headers.authorization)
        return 200, { ["Content-Type"] = "application/x-amz-json-1.0" }, '{"mapRuns":[]}', "OK"
      end
      local d = driver.new(cfg, policy)
      local page = d:list_map_runs(send, { executionArn = "arn:aws:states:us-east-1:123456789012:execution:f:e" })
      assert.same({}, page.mapRuns)
      assert.same({ server.url .. "/c", server.url .. "/c", "http://127.0.0.1:9/" }, sent)
    end)
  end)

  describe("container", function()
    local server
    before_each(function()
      server = fakes.start("container", { "--auth", "Bearer xyz", "--sak", ROLE_SECRET })
    end)
    after_each(function() server.stop() end)

    it("reads FULL_URI with the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", function()
      fakes.write(home .. "/tok", "Bearer xyz")
      local c = resolve({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/creds",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = home .. "/tok",
        AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer wrong" }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      assert.equal(ROLE_SECRET, c.secret_access_key)
      assert.equal(4070908800, c.expiration)
      assert.equal("/creds", server.requests()[1].path)
    end)
    it("uses AWS_CONTAINER_AUTHORIZATION_TOKEN otherwise; a wrong token fails after 3 attempts", function()
      local ok = resolve({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/c",
        AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer xyz" }).credentials()
      assert.equal("ASIAFAKEROLEKEY", ok.access_key_id)
      local e = err_of(resolve({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/c",
        AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer nope" }).credentials)
      assert.equal("CredentialsError", e.code)
      assert.equal(4, #server.requests())
    end)
    it("rejects CR/LF in the token", function()
      assert.equal("CredentialsError", err_of(resolve({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN = "Bearer xyz\r\nX-Evil: 1" }).credentials).code)
      assert.equal(0, #server.requests())
    end)
    it("FULL_URI over http must be loopback or a container address", function()
      local container = require "sfn.credentials.container"
      assert.is_true(container.allowed("http://127.0.0.1:80/x"))
      assert.is_true(container.allowed("http://127.1.2.3/x"))
      assert.is_true(container.allowed("http://[::1]:8080/x"))
      assert.is_true(container.allowed("http://169.254.170.23/v1/credentials"))
      assert.is_true(container.allowed("http://[fd00:ec2::23]/x"))
      assert.is_true(container.allowed("https://creds.example.com/x"))
      assert.is_false(container.allowed("http://10.0.0.1/x"))
      assert.is_false(container.allowed("http://example.com/x"))
      assert.is_false(container.allowed("ftp://127.0.0.1/x"))
      assert.equal("CredentialsError", err_of(resolve({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI = "http://10.1.2.3/x" }).credentials).code)
    end)
  end)

  describe("container retries", function()
    it("retries 5xx up to 3 attempts", function()
      local server = fakes.start("container", { "--fail", "2" })
      local c = resolve({}, { AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url .. "/c" }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      assert.equal(3, #server.requests())
      server.stop()
    end)
  end)

  describe("instance metadata", function()
    it("IMDSv2: token, role, credentials", function()
      local server = fakes.start("imds", { "--sak", ROLE_SECRET })
      local c = resolve({}, { AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url .. "/" }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      assert.equal("fake-role-session-token", c.session_token)
      local r = server.requests()
      assert.equal(3, #r)
      assert.equal("PUT", r[1].method)
      assert.equal("21600", r[1].headers["x-aws-ec2-metadata-token-ttl-seconds"])
      assert.equal("/latest/meta-data/iam/security-credentials/test-role", r[3].path)
      assert.equal("imds-token-123", r[3].headers["x-aws-ec2-metadata-token"])
      server.stop()
    end)
    it("falls back to IMDSv1 on 404, unless v1 is disabled", function()
      local server = fakes.start("imds", { "--v1-only" })
      local t = { AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url }
      assert.equal("ASIAFAKEROLEKEY", resolve({}, t).credentials().access_key_id)
      t.AWS_EC2_METADATA_V1_DISABLED = "true"
      assert.equal("CredentialsError", err_of(resolve({}, t).credentials).code)
      server.stop()
    end)
    it("falls back to IMDSv1 when the token request times out", function()
      local server = fakes.start("imds", { "--v1-only", "--token-delay", "3" })
      local c = resolve({}, { AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url,
        AWS_METADATA_SERVICE_TIMEOUT = "0.3" }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      server.stop()
    end)
    it("no metadata service: gives up within about a second", function()
      local dead = fakes.start("imds", {})
      local url = dead.url
      dead.stop() -- nothing listens there now
      local start = os.clock()
      local t0 = os.time()
      local e = err_of(resolve({}, { AWS_EC2_METADATA_DISABLED = false, AWS_EC2_METADATA_SERVICE_ENDPOINT = url }).credentials)
      assert.equal("CredentialsError", e.code)
      assert.truthy(e.message:find("imds", 1, true))
      assert.is_true(os.time() - t0 <= 2 and os.clock() - start < 1.5)
    end)
    it("AWS_EC2_METADATA_DISABLED sends nothing", function()
      local n = #contacted
      err_of(resolve().credentials)
      assert.equal(n, #contacted)
    end)
  end)

  describe("STS", function()
    local sts_server
    before_each(function()
      sts_server = fakes.start("sts", { "--key", "AKIDSOURCE", "--secret", SECRET, "--sak", ROLE_SECRET,
        "--web-token", "oidc-token-1" })
      fakes.write(home .. "/token", "oidc-token-1")
    end)
    after_each(function() sts_server.stop() end)

    it("web identity from the environment, unsigned, JSON reply", function()
      local c = resolve({}, { AWS_ENDPOINT_URL_STS = sts_server.url, AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token",
        AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/ci", AWS_ROLE_SESSION_NAME = "ci-run" }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      assert.equal(ROLE_SECRET, c.secret_access_key)
      assert.equal(4070908800, c.expiration)
      local r = sts_server.requests()[1]
      assert.is_nil(r.headers.authorization)
      assert.truthy(r.body:find("Action=AssumeRoleWithWebIdentity", 1, true))
      assert.truthy(r.body:find("RoleSessionName=ci-run", 1, true))
      assert.equal("application/json", r.headers.accept)
    end)

    it("web identity from the profile, XML reply; the token file is re-read on refresh", function()
      sts_server.stop()
      sts_server = fakes.start("sts", { "--xml", "--expiration", "2023-11-15T00:00:00Z" })
      write_config("[default]\nweb_identity_token_file = " .. home .. "/token\nrole_arn = arn:aws:iam::1:role/r\n")
      local get = resolve({}, { AWS_ENDPOINT_URL_STS = sts_server.url }).credentials
      assert.equal("ASIAFAKEROLEKEY", get().access_key_id)
      fakes.write(home .. "/token", "oidc-token-2")
      clock.t = 1700006400 - 12 * 60 -- advisory window
      get()
      local r = sts_server.requests()
      assert.equal(2, #r)
      assert.truthy(r[2].body:find("WebIdentityToken=oidc-token-2", 1, true))
    end)

    it("web identity without a role ARN is a ConfigError", function()
      assert.equal("ConfigError", err_of(resolve({}, { AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token" }).credentials).code)
    end)

    it("STS errors become CredentialsErrors (JSON and XML)", function()
      for _, flags in ipairs { {}, { "--xml" } } do
        sts_server.stop()
        local args = { "--error", "AccessDenied" }
        for _, f in ipairs(flags) do args[#args + 1] = f end
        sts_server = fakes.start("sts", args)
        local e = err_of(resolve({}, { AWS_ENDPOINT_URL_STS = sts_server.url, AWS_WEB_IDENTITY_TOKEN_FILE = home .. "/token",
          AWS_ROLE_ARN = "arn:aws:iam::1:role/r" }).credentials)
        assert.equal("CredentialsError", e.code)
        assert.truthy(e.message:find("AccessDenied", 1, true))
      end
    end)

    local function need_signer()
      if not core.sign then pending("core.sign (src/sigv4.c) has not landed yet") return false end
      return true
    end

    it("assume role with a static source_profile, signed, checked by the fake", function()
      if not need_signer() then return end
      write_credentials("[src]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = " .. SECRET .. "\n")
      write_config("[default]\nrole_arn = arn:aws:iam::1:role/target\nsource_profile = src\nexternal_id = ext-1\n"
        .. "role_session_name = sess\nduration_seconds = 1800\n")
      local c = resolve({}, { AWS_ENDPOINT_URL_STS = sts_server.url }).credentials()
      assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
      local r = sts_server.requests()[1]
      assert.truthy(r.body:find("ExternalId=ext-1", 1, true))
      assert.truthy(r.body:find("DurationSeconds=1800", 1, true))
      assert.truthy(r.headers.authorization:find("AKIDSOURCE/", 1, true))
    end)

    it("chained roles and credential_source Environment", function()
      if not need_signer() then return end
      write_config("[default]\nrole_arn = arn:aws:iam::1:role/second\nsource_profile = first\n"
        .. "[profile first]\nrole_arn = arn:aws:iam::1:role/first\ncredential_source = Environment\n")
      -- the fake only knows AKIDSOURCE: the second hop is signed with the
      -- first role's keys, which the fake rejects — proving the chain order
      -- (profile option: the environment provider is skipped, the env keys
      -- still feed credential_source = Environment)
      local e = err_of(resolve({ profile = "default" }, { AWS_ENDPOINT_URL_STS = sts_server.url, AWS_ACCESS_KEY_ID = "AKIDSOURCE",
        AWS_SECRET_ACCESS_KEY = SECRET }).credentials)
      assert.truthy(e.message:find("SignatureDoesNotMatch", 1, true))
      assert.equal(2, #sts_server.requests())
    end)

    it("source_profile loops and missing profiles are ConfigErrors", function()
      write_config("[default]\nrole_arn = arn:a\nsource_profile = a\n[profile a]\nrole_arn = arn:b\nsource_profile = default\n")
      local e = err_of(resolve().credentials)
      assert.equal("ConfigError", e.code)
      assert.truthy(e.message:find("loop", 1, true))
      write_config("[default]\nrole_arn = arn:a\nsource_profile = ghost\n")
      assert.equal("ConfigError", err_of(resolve().credentials).code)
      write_config("[default]\nrole_arn = arn:a\nsource_profile = a\ncredential_source = Environment\n")
      assert.equal("ConfigError", err_of(resolve().credentials).code)
      write_config("[default]\nrole_arn = arn:a\ncredential_source = Moon\n")
      assert.equal("ConfigError", err_of(resolve().credentials).code)
      assert.equal(0, #sts_server.requests())
    end)
  end)

  it("never contacted anything but 127.0.0.1", function()
    for _, url in ipairs(contacted) do
      assert.truthy(url:match("^https?://127%.0%.0%.1[:/]"), url)
      assert.is_nil(url:find("169.254", 1, true))
    end
    assert.is_true(#contacted > 0)
  end)
end)

describe("credentials.new seam", function()
  it("exposes the provider list in botocore's order", function()
    local names = {}
    for _, p in ipairs(credentials.default_providers()) do names[#names + 1] = p.name end
    assert.same({ "env", "assume-role", "web-identity", "sso", "shared-credentials-file", "login",
      "credential-process", "config-file", "container", "imds" }, names)
  end)
end)

describe("sfn.core helpers for the providers", function()
  it("parse_sts_xml: credentials, ErrorResponse, malformed, DOCTYPE", function()
    local ok = core.parse_sts_xml([[<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken><Expiration>2023-11-14T22:13:20.500Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>]])  -- luacheck: ignore 631
    assert.equal("ASIA1", ok.access_key_id)
    assert.equal(1700000000.5, ok.expiration)
    assert.equal("r1", ok.request_id)
    local e = core.parse_sts_xml([[<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredTokenException</Code><Message>m</Message></Error><RequestId>r2</RequestId></ErrorResponse>]])  -- luacheck: ignore 631
    assert.equal("ExpiredTokenException", e.error_code)
    assert.equal("r2", e.request_id)
    for _, bad in ipairs { "<a><b></a>", "", "not xml", [[<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>]],
      "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>" } do
      local v, msg = core.parse_sts_xml(bad)
      assert.is_nil(v)
      assert.equal("string", type(msg))
    end
  end)
  it("json_decode: values, null, errors, depth cap", function()
    local v = core.json_decode('{"a":[1,"x",true,null],"b":{"c":false},"n":null}')
    assert.equal(1, v.a[1]); assert.equal("x", v.a[2]); assert.is_true(v.a[3])
    assert.is_false(v.b.c); assert.is_nil(v.n)
    assert.is_nil((core.json_decode("{")))
    local ok, e = pcall(core.json_decode, string.rep("[", 100) .. string.rep("]", 100))
    assert.is_false(ok)
    assert.equal("ResponseError", e.code)
  end)
  it("spawn: status, outputs, argument checks", function()
    local st, out, err = core.spawn({ "sh", "-c", "printf out; printf err >&2; exit 4" }, 5)
    assert.equal(4, st); assert.equal("out", out); assert.equal("err", err)
    assert.equal(128 + 9, (core.spawn({ "sh", "-c", "kill -9 $$" }, 5)))
    for _, args in ipairs { { "x" }, { {} }, { { 1 } }, { { "true" }, 0 }, { { "a\0b" } } } do
      local ok2, e = pcall(core.spawn, args[1], args[2])
      assert.is_false(ok2)
      assert.equal("ValidationError", e.code)
    end
    local ok3, e3 = pcall(core.spawn, { "sh", "-c", "head -c 2000000 /dev/zero" }, 5)
    assert.is_false(ok3)
    assert.equal("CredentialsError", e3.code)
  end)
end)

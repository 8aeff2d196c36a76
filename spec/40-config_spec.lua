-- config.resolve: options, environment, profiles and files, defaults.
local config = require "sfn.config"
local profile = require "sfn.profile"
local fakes = require "fakes.fakes"

local SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

local function env_with(home, t)
  local e = { HOME = home, AWS_EC2_METADATA_DISABLED = "true" }
  for k, v in pairs(t or {}) do e[k] = v end
  return fakes.env(e)
end

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(require("sfn.errors").is_error(e), "expected an sfn.Error: " .. tostring(e))
  return e
end

describe("config.resolve", function()
  local home
  before_each(function()
    home = fakes.tmpdir()
    os.execute("mkdir -p '" .. home .. "/.aws'")
  end)
  after_each(function() fakes.rmdir(home) end)

  local function write_config(text) fakes.write(home .. "/.aws/config", text) end
  local function write_credentials(text) fakes.write(home .. "/.aws/credentials", text) end

  describe("options", function()
    it("gives the documented defaults", function()
      local cfg = config.resolve({ region = "us-east-1" }, env_with(home))
      assert.equal("us-east-1", cfg.region)
      assert.equal("https://states.us-east-1.amazonaws.com", cfg.endpoint)
      assert.equal(3, cfg.max_attempts)
      assert.equal("standard", cfg.retry_mode)
      assert.equal(10, cfg.connect_timeout)
      assert.equal(60, cfg.timeout)
      assert.is_nil(cfg.ca_file)
      assert.equal("default", cfg.profile)
      assert.equal("function", type(cfg.credentials))
    end)

    it("uses os.getenv when no getenv is given", function()
      local cfg = config.resolve({ region = "eu-west-1", credentials = { access_key_id = "A", secret_access_key = "B" } })
      assert.equal("eu-west-1", cfg.region)
    end)

    it("passes transport and log through", function()
      local log = function() end
      local f = function() end
      assert.equal("ngx", config.resolve({ region = "us-east-1", transport = "ngx" }, env_with(home)).transport)
      assert.equal(f, config.resolve({ region = "us-east-1", transport = f }, env_with(home)).transport)
      assert.equal(log, config.resolve({ region = "us-east-1", log = log }, env_with(home)).log)
    end)

    local bad = {
      { "bogus", 1 }, { "region", 1 }, { "region", "" }, { "profile", false }, { "endpoint", 5 },
      { "credentials", "key" }, { "max_attempts", 0 }, { "max_attempts", 1.5 }, { "max_attempts", "3" },
      { "connect_timeout", 0 }, { "connect_timeout", "1" }, { "timeout", -1 }, { "ca_file", 1 },
      { "transport", "socket" }, { "retry_mode", "fast" }, { "use_fips_endpoint", "true" },
      { "use_dualstack_endpoint", 1 }, { "log", "stderr" },
    }
    for _, case in ipairs(bad) do
      it("rejects " .. case[1] .. " = " .. tostring(case[2]) .. " with a ConfigError naming it", function()
        local opts = { region = "us-east-1" }
        opts[case[1]] = case[2]
        local e = err_of(config.resolve, opts, env_with(home))
        assert.equal("ConfigError", e.code)
        assert.truthy(e.message:find(case[1], 1, true))
      end)
    end

    it("rejects a non-table opts and a non-function getenv", function()
      assert.equal("ConfigError", err_of(config.resolve, "x", env_with(home)).code)
      assert.equal("ConfigError", err_of(config.resolve, {}, "env").code)
    end)

    for _, url in ipairs { "ftp://x", "states.amazonaws.com", "http://", "file:///etc/passwd", "https:// x" } do
      it("rejects the endpoint " .. url .. " at once", function()
        local e = err_of(config.resolve, { region = "us-east-1", endpoint = url }, env_with(home))
        assert.equal("ConfigError", e.code)
      end)
    end

    it("validates explicit credentials without echoing the secret", function()
      for _, c in ipairs {
        { access_key_id = "", secret_access_key = SECRET },
        { access_key_id = "AKID" },
        { access_key_id = "AKID", secret_access_key = SECRET, session_token = 5 },
        { access_key_id = "AKID", secret_access_key = SECRET, extra = SECRET },
        { access_key_id = 1, secret_access_key = SECRET },
      } do
        local e = err_of(config.resolve, { region = "us-east-1", credentials = c }, env_with(home))
        assert.equal("ConfigError", e.code)
        assert.is_nil(tostring(e):find(SECRET, 1, true))
      end
    end)

    it("accepts a credentials function and validates what it returns", function()
      local calls = 0
      local cfg = config.resolve({ region = "us-east-1", credentials = function()
        calls = calls + 1
        return { access_key_id = "AKID", secret_access_key = SECRET }
      end }, env_with(home))
      assert.equal(0, calls)
      assert.equal("AKID", cfg.credentials().access_key_id)
      cfg.credentials()
      assert.equal(1, calls)
      local no_key = config.resolve({ region = "us-east-1", credentials = function() return { secret_access_key = SECRET } end }, env_with(home))
      local e = err_of(no_key.credentials)
      assert.equal("CredentialsError", e.code)
      assert.is_nil(tostring(e):find(SECRET, 1, true))
    end)
  end)

  describe("region", function()
    before_each(function()
      write_config("[default]\nregion = ap-south-1\n[profile other]\nregion = sa-east-1\n")
    end)
    local cases = {
      { "option", { region = "us-west-2" }, { AWS_REGION = "eu-west-1", AWS_DEFAULT_REGION = "eu-west-2" }, "us-west-2" },
      { "AWS_REGION", {}, { AWS_REGION = "eu-west-1", AWS_DEFAULT_REGION = "eu-west-2" }, "eu-west-1" },
      { "AWS_DEFAULT_REGION", {}, { AWS_DEFAULT_REGION = "eu-west-2" }, "eu-west-2" },
      { "the default profile", {}, {}, "ap-south-1" },
      { "the profile option", { profile = "other" }, { AWS_PROFILE = "default" }, "sa-east-1" },
      { "AWS_PROFILE", {}, { AWS_PROFILE = "other" }, "sa-east-1" },
      { "empty env values are unset", {}, { AWS_REGION = "", AWS_DEFAULT_REGION = "" }, "ap-south-1" },
    }
    for _, c in ipairs(cases) do
      it("comes from " .. c[1], function()
        assert.equal(c[4], config.resolve(c[2], env_with(home, c[3])).region)
      end)
    end

    it("missing everywhere is a ConfigError saying how to set one", function()
      write_config("[default]\n")
      local e = err_of(config.resolve, {}, env_with(home))
      assert.equal("ConfigError", e.code)
      assert.truthy(e.message:find("AWS_REGION", 1, true))
      assert.truthy(e.message:find("region", 1, true))
    end)

    it("must be a valid host label", function()
      assert.equal("ConfigError", err_of(config.resolve, { region = "us-east-1/evil" }, env_with(home)).code)
      assert.equal("ConfigError", err_of(config.resolve, { region = "a b" }, env_with(home)).code)
    end)

    it("comes from the credentials file too (merged over the config file)", function()
      write_config("[profile p]\nregion = eu-north-1\n")
      write_credentials("[p]\nregion = eu-south-1\n")
      assert.equal("eu-south-1", config.resolve({ profile = "p" }, env_with(home)).region)
    end)

    it("turns legacy fips pseudo regions into region + FIPS", function()
      local cfg = config.resolve({ region = "fips-us-gov-west-1" }, env_with(home))
      assert.equal("us-gov-west-1", cfg.region)
      assert.equal("https://states.us-gov-west-1.amazonaws.com", cfg.endpoint)
      assert.equal("https://states-fips.us-east-1.amazonaws.com",
        config.resolve({ region = "us-east-1-fips" }, env_with(home)).endpoint)
    end)
  end)

  describe("endpoint", function()
    before_each(function()
      write_config(table.concat({
        "[default]",
        "region = us-east-1",
        "services = local",
        "endpoint_url = http://127.0.0.1:4004",
        "[profile bare]",
        "region = us-east-1",
        "endpoint_url = http://127.0.0.1:4005",
        "[services local]",
        "sfn =",
        "  endpoint_url = http://127.0.0.1:4003",
        "s3 =",
        "  endpoint_url = http://127.0.0.1:9999",
      }, "\n"))
    end)
    local all = {
      AWS_ENDPOINT_URL_SFN = "http://127.0.0.1:4001",
      AWS_ENDPOINT_URL = "http://127.0.0.1:4002",
    }
    it("option beats everything", function()
      assert.equal("http://127.0.0.1:4000", config.resolve({ endpoint = "http://127.0.0.1:4000" }, env_with(home, all)).endpoint)
    end)
    it("AWS_ENDPOINT_URL_SFN beats AWS_ENDPOINT_URL", function()
      assert.equal("http://127.0.0.1:4001", config.resolve({}, env_with(home, all)).endpoint)
    end)
    it("AWS_ENDPOINT_URL beats the files", function()
      assert.equal("http://127.0.0.1:4002", config.resolve({}, env_with(home, { AWS_ENDPOINT_URL = all.AWS_ENDPOINT_URL })).endpoint)
    end)
    it("the services section's sfn endpoint_url beats the profile's", function()
      assert.equal("http://127.0.0.1:4003", config.resolve({}, env_with(home)).endpoint)
    end)
    it("the profile's endpoint_url beats the rules", function()
      assert.equal("http://127.0.0.1:4005", config.resolve({ profile = "bare" }, env_with(home)).endpoint)
    end)
    it("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS drops env and file endpoints, not the option", function()
      local e = env_with(home, { AWS_ENDPOINT_URL_SFN = all.AWS_ENDPOINT_URL_SFN, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS = "true" })
      assert.equal("https://states.us-east-1.amazonaws.com", config.resolve({}, e).endpoint)
      assert.equal("http://127.0.0.1:4000", config.resolve({ endpoint = "http://127.0.0.1:4000" }, e).endpoint)
    end)
    it("ignore_configured_endpoint_urls in the profile does the same", function()
      write_config("[default]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:1\nignore_configured_endpoint_urls = true\n")
      assert.equal("https://states.us-east-1.amazonaws.com", config.resolve({}, env_with(home)).endpoint)
    end)
    it("rejects a bad configured endpoint naming its source", function()
      local e = err_of(config.resolve, {}, env_with(home, { AWS_ENDPOINT_URL_SFN = "gopher://x" }))
      assert.equal("ConfigError", e.code)
      assert.truthy(e.message:find("AWS_ENDPOINT_URL_SFN", 1, true))
    end)
    it("FIPS or dual-stack with a custom endpoint is a ConfigError", function()
      assert.equal("ConfigError", err_of(config.resolve, { endpoint = "https://x.test", use_fips_endpoint = true }, env_with(home)).code)
      assert.equal("ConfigError", err_of(config.resolve, { endpoint = "https://x.test", use_dualstack_endpoint = true }, env_with(home)).code)
      assert.equal("ConfigError", err_of(config.resolve, {}, env_with(home, { AWS_USE_FIPS_ENDPOINT = "true" })).code)
    end)
    it("reads FIPS and dual-stack from options, env and profile", function()
      write_config("[default]\nregion = us-east-1\n[profile f]\nregion = us-east-1\nuse_fips_endpoint = true\nuse_dualstack_endpoint = TRUE\n")
      assert.equal("https://states-fips.us-east-1.amazonaws.com",
        config.resolve({ use_fips_endpoint = true }, env_with(home)).endpoint)
      assert.equal("https://states.us-east-1.api.aws",
        config.resolve({}, env_with(home, { AWS_USE_DUALSTACK_ENDPOINT = "true" })).endpoint)
      assert.equal("https://states-fips.us-east-1.api.aws", config.resolve({ profile = "f" }, env_with(home)).endpoint)
      assert.equal("https://states.us-east-1.amazonaws.com",
        config.resolve({ profile = "f", use_fips_endpoint = false, use_dualstack_endpoint = false }, env_with(home)).endpoint)
      assert.equal("https://states.us-east-1.amazonaws.com",
        config.resolve({}, env_with(home, { AWS_USE_FIPS_ENDPOINT = "yes" })).endpoint)
    end)
    it("defaults to the partition's domain", function()
      write_config("")
      assert.equal("https://states.cn-north-1.amazonaws.com.cn", config.resolve({ region = "cn-north-1" }, env_with(home)).endpoint)
    end)
  end)

  describe("retries, timeouts, CA bundle", function()
    before_each(function()
      write_config("[default]\nregion = us-east-1\nmax_attempts = 7\nretry_mode = adaptive\nca_bundle = /profile/ca.pem\n")
    end)
    it("max_attempts: option, AWS_MAX_ATTEMPTS, profile", function()
      assert.equal(2, config.resolve({ max_attempts = 2 }, env_with(home, { AWS_MAX_ATTEMPTS = "5" })).max_attempts)
      assert.equal(5, config.resolve({}, env_with(home, { AWS_MAX_ATTEMPTS = "5" })).max_attempts)
      assert.equal(7, config.resolve({}, env_with(home)).max_attempts)
    end)
    it("max_attempts from env or file must be an integer >= 1", function()
      for _, v in ipairs { "0", "-1", "x", "2.5" } do
        local e = err_of(config.resolve, {}, env_with(home, { AWS_MAX_ATTEMPTS = v }))
        assert.equal("ConfigError", e.code)
        assert.truthy(e.message:find("AWS_MAX_ATTEMPTS", 1, true))
      end
    end)
    it("max_attempts beyond the core's range names its source", function()
      local e = err_of(config.resolve, {}, env_with(home, { AWS_MAX_ATTEMPTS = "200" }))
      assert.equal("ConfigError", e.code)
      assert.truthy(e.message:find("AWS_MAX_ATTEMPTS=200: must be 1..100", 1, true), e.message)
      e = err_of(config.resolve, { max_attempts = 101 }, env_with(home))
      assert.truthy(e.message:find("option max_attempts=101: must be 1..100", 1, true), e.message)
      e = err_of(config.resolve, { timeout = 1e9 }, env_with(home))
      assert.truthy(e.message:find("must be 0.001..86400", 1, true), e.message)
    end)
    it("retry_mode: option, AWS_RETRY_MODE, profile; bad values rejected", function()
      assert.equal("adaptive", config.resolve({ retry_mode = "adaptive" }, env_with(home, { AWS_RETRY_MODE = "standard" })).retry_mode)
      -- botocore's legacy mode is refused, not run as standard
      local e = err_of(config.resolve, { retry_mode = "legacy" }, env_with(home))
      assert.equal("ConfigError", e.code)
      e = err_of(config.resolve, {}, env_with(home, { AWS_RETRY_MODE = "legacy" }))
      assert.truthy(e.message:find("AWS_RETRY_MODE=legacy: must be", 1, true), e.message)
      assert.equal("standard", config.resolve({}, env_with(home, { AWS_RETRY_MODE = "standard" })).retry_mode)
      assert.equal("adaptive", config.resolve({}, env_with(home)).retry_mode)
      assert.equal("ConfigError", err_of(config.resolve, {}, env_with(home, { AWS_RETRY_MODE = "turbo" })).code)
    end)
    it("ca_file: option, AWS_CA_BUNDLE, profile ca_bundle", function()
      assert.equal("/opt/ca.pem", config.resolve({ ca_file = "/opt/ca.pem" }, env_with(home, { AWS_CA_BUNDLE = "/env/ca.pem" })).ca_file)
      assert.equal("/env/ca.pem", config.resolve({}, env_with(home, { AWS_CA_BUNDLE = "/env/ca.pem" })).ca_file)
      assert.equal("/profile/ca.pem", config.resolve({}, env_with(home)).ca_file)
    end)
    it("timeouts come from the options", function()
      local cfg = config.resolve({ connect_timeout = 1.5, timeout = 3 }, env_with(home))
      assert.equal(1.5, cfg.connect_timeout)
      assert.equal(3, cfg.timeout)
    end)
  end)

  describe("profiles and files", function()
    it("a named profile that does not exist is a ConfigError", function()
      write_config("[default]\nregion = us-east-1\n")
      assert.equal("ConfigError", err_of(config.resolve, { profile = "nope" }, env_with(home)).code)
      assert.equal("ConfigError", err_of(config.resolve, {}, env_with(home, { AWS_PROFILE = "nope" })).code)
    end)
    it("no files at all is fine", function()
      assert.equal("us-east-1", config.resolve({ region = "us-east-1" }, env_with(home .. "/missing")).region)
    end)
    it("AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE move the files (with ~ and $VARS)", function()
      fakes.write(home .. "/cfg", "[profile x]\nregion = me-south-1\n")
      fakes.write(home .. "/creds", "[x]\naws_access_key_id = AKIDX\naws_secret_access_key = " .. SECRET .. "\n")
      local cfg = config.resolve({ profile = "x" }, env_with(home, {
        AWS_CONFIG_FILE = "~/cfg", AWS_SHARED_CREDENTIALS_FILE = "$HOME/creds",
      }))
      assert.equal("me-south-1", cfg.region)
      assert.equal("AKIDX", cfg.credentials().access_key_id)
    end)
    it("[profile default] and [default] both name the default profile", function()
      write_config("[profile default]\nregion = af-south-1\n")
      assert.equal("af-south-1", config.resolve({}, env_with(home)).region)
    end)
    it("an unreadable config file is a ConfigError", function()
      os.execute("mkdir -p '" .. home .. "/dir'")
      write_config("[default]\nregion = us-east-1\n")
      os.execute("chmod 000 '" .. home .. "/.aws/config'")
      local ok, e = pcall(config.resolve, {}, env_with(home))
      os.execute("chmod 600 '" .. home .. "/.aws/config'")
      if ok then pending("running as root: chmod 000 does not stop reads") return end
      assert.equal("ConfigError", e.code)
    end)
    local garbage = {
      { "a line that is not key = value", "[default]\nregion = us-east-1\nthis is garbage " .. SECRET .. "\n", 3 },
      { "a key before any section", "aws_secret_access_key = " .. SECRET .. "\n[default]\n", 1 },
      { "a duplicate section", "[default]\nregion = us-east-1\n[default]\n", 3 },
      { "a duplicate key", "[default]\nregion = us-east-1\nregion = us-east-2\n", 3 },
    }
    for _, g in ipairs(garbage) do
      it("rejects " .. g[1] .. ", naming file and line, never the text", function()
        write_config(g[2])
        local e = err_of(config.resolve, { region = "us-east-1" }, env_with(home))
        assert.equal("ConfigError", e.code)
        assert.truthy(e.message:find(home .. "/.aws/config", 1, true))
        assert.truthy(e.message:find("line " .. g[3], 1, true))
        assert.is_nil(tostring(e):find(SECRET, 1, true))
      end)
    end
    it("garbage in the credentials file too", function()
      write_credentials("[default]\naws_secret_access_key " .. SECRET .. "\n")
      local e = err_of(config.resolve, { region = "us-east-1" }, env_with(home))
      assert.equal("ConfigError", e.code)
      assert.truthy(e.message:find("credentials", 1, true))
      assert.is_nil(tostring(e):find(SECRET, 1, true))
    end)
  end)
end)

describe("sfn.profile.parse", function()
  it("reads configparser syntax like botocore", function()
    local text = table.concat({
      "# comment",
      "; another",
      "[default]",
      "Region = us-east-1   ",
      "output: json",
      "  # indented comment",
      "empty =",
      "",
      "[profile dev]",
      "s3 =",
      "    max_concurrent_requests = 20",
      "",
      "    addressing_style = path",
      "long = first",
      "  second",
      "inline = x # not a comment",
      "[services svc]",
      "sfn =",
      "  endpoint_url = http://127.0.0.1:1",
      "[DEFAULT]",
      "shared = yes",
    }, "\r\n")
    local parsed = profile.parse(text, "test")
    local d = parsed.sections.default
    assert.equal("us-east-1", d.region)
    assert.equal("json", d.output)
    assert.equal("", d.empty)
    assert.equal("yes", d.shared)
    local dev = parsed.sections["profile dev"]
    assert.same({ max_concurrent_requests = "20", addressing_style = "path" }, dev.s3)
    assert.equal("first\nsecond", dev.long)
    assert.equal("x # not a comment", dev.inline)
    assert.same({ endpoint_url = "http://127.0.0.1:1" }, parsed.sections["services svc"].sfn)
    assert.same({ "default", "profile dev", "services svc" }, parsed.order)
  end)

  it("splits section names like shlex", function()
    assert.same({ "profile", "my name" }, profile.split_words('profile "my name"'))
    assert.same({ "profile", "it's" }, profile.split_words([[profile it\'s]]))
    assert.same({ "a", "", "b" }, profile.split_words([[a '' b]]))
    assert.same({ [[x\y]], 'q"' }, profile.split_words([["x\y" "q\""]]))
    assert.is_nil(profile.split_words('profile "open'))
  end)
end)

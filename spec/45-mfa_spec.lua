-- MFA on role profiles (mfa_serial): the mfa_code option, called only when
-- needed, and the AWS CLI's cache of assumed-role credentials
-- (~/.aws/cli/cache/<key>.json, botocore's key derivation as the oracle).
local config = require "sfn.config"
local credentials = require "sfn.credentials"
local errors = require "sfn.errors"
local core = require "sfn.core"
local curl = require "sfn.curl"
local fakes = require "fakes.fakes"

local SOURCE_SECRET = "source-secret"
local ROLE_SECRET = "fake-role-secret-SHOULD-NOT-LEAK"
local SERIAL = "arn:aws:iam::111122223333:mfa/alice"
local ROLE = "arn:aws:iam::111122223333:role/admin"

local function http(req)
  assert(req.url:match("^https?://127%.0%.0%.1[:/]"), "the suite tried to reach " .. req.url)
  return curl.http_request(req)
end

local function have_botocore()
  local ok = os.execute("python3 -c 'import botocore' >/dev/null 2>&1")
  return ok == true or ok == 0
end

local function py(code, arg)
  local p = assert(io.popen("python3 -c " .. ("'" .. code:gsub("'", "'\\''") .. "'") .. " '"
    .. arg:gsub("'", "'\\''") .. "' 2>&1"))
  local out = p:read("*a")
  p:close()
  return (out:gsub("%s+$", ""))
end

describe("MFA role profiles", function()
  local home, sts, calls

  before_each(function()
    home = fakes.tmpdir()
    os.execute("mkdir -p '" .. home .. "/.aws'")
    sts = fakes.start("sts")
    calls = {}
    credentials.clear_cache()
  end)
  after_each(function()
    sts.stop()
    fakes.rmdir(home)
  end)

  local function write_config(extra)
    fakes.write(home .. "/.aws/config", "[profile base]\naws_access_key_id = AKIDSOURCE\n"
      .. "aws_secret_access_key = " .. SOURCE_SECRET .. "\n"
      .. "[profile admin]\nrole_arn = " .. ROLE .. "\nsource_profile = base\nmfa_serial = " .. SERIAL .. "\n"
      .. (extra or ""))
  end

  local function resolve(opts)
    opts = opts or {}
    opts.profile = opts.profile or "admin"
    return config.resolve(opts, fakes.env {
      HOME = home, AWS_REGION = "us-east-1", AWS_EC2_METADATA_DISABLED = "true",
      AWS_CONFIG_FILE = home .. "/.aws/config", AWS_SHARED_CREDENTIALS_FILE = home .. "/nonexistent",
      AWS_ENDPOINT_URL_STS = sts.url,
    }, { now = function() return 1700000000 end, http = http })
  end

  local function code_fn(code)
    return function(serial)
      calls[#calls + 1] = serial
      return code
    end
  end

  local function assume_requests()
    local out = {}
    for _, r in ipairs(sts.requests()) do
      local form = {}
      for k, v in r.body:gmatch("([^&=]+)=([^&]*)") do form[k] = v:gsub("%%(%x%x)", function(h)
        return string.char(tonumber(h, 16)) end) end
      out[#out + 1] = form
    end
    return out
  end

  local function cache_files()
    local p = io.popen("ls " .. home .. "/.aws/cli/cache 2>/dev/null")
    local out = {}
    for l in p:lines() do out[#out + 1] = l end
    p:close()
    return out
  end

  it("without a code source: a CredentialsError saying how to give one", function()
    write_config()
    local ok, e = pcall(function() return resolve().credentials() end)
    assert.is_false(ok)
    assert.is_true(errors.is_error(e))
    assert.equal("CredentialsError", e.code)
    assert.truthy(e.message:find("mfa_code", 1, true), e.message)
    assert.truthy(e.message:find(SERIAL, 1, true), e.message)
    assert.equal(0, #sts.requests())
  end)

  it("calls mfa_code once with the serial, sends SerialNumber and TokenCode, caches as the AWS CLI", function()
    write_config()
    local c = resolve({ mfa_code = code_fn("123456") }).credentials()
    assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
    assert.same({ SERIAL }, calls)
    local form = assume_requests()[1]
    assert.equal(SERIAL, form.SerialNumber)
    assert.equal("123456", form.TokenCode)
    local files = cache_files()
    assert.equal(1, #files)
    local doc = core.json_decode(fakes.read(home .. "/.aws/cli/cache/" .. files[1]))
    assert.equal("ASIAFAKEROLEKEY", doc.Credentials.AccessKeyId)
    assert.equal("2099-01-01T00:00:00UTC", doc.Credentials.Expiration)
    local p = io.popen("stat -c %a '" .. home .. "/.aws/cli/cache/" .. files[1] .. "'")
    assert.equal("600", p:read("*l"))
    p:close()
    -- another process (a fresh credentials cache): no prompt, no STS call
    credentials.clear_cache()
    c = resolve({ mfa_code = code_fn("999999") }).credentials()
    assert.equal("ASIAFAKEROLEKEY", c.access_key_id)
    assert.equal(1, #calls)
    assert.equal(1, #sts.requests())
  end)

  it("the cache key is botocore's (the AWS CLI shares the file)", function()
    if not have_botocore() then return pending("botocore is not installed") end
    write_config("duration_seconds = 3600\nexternal_id = ext-1\n")
    resolve({ mfa_code = code_fn("123456") }).credentials()
    local want = py([[
import json, sys
from botocore.credentials import AssumeRoleCredentialFetcher as F
a = json.loads(sys.argv[1])
print(F(client_creator=None, source_credentials=None, role_arn=a.pop("RoleArn"), extra_args=a)._cache_key)]],
      '{"RoleArn": "' .. ROLE .. '", "SerialNumber": "' .. SERIAL .. '", "DurationSeconds": 3600, "ExternalId": "ext-1"}')
    assert.same({ want .. ".json" }, cache_files())
  end)

  it("reads a cache file written by botocore's JSONFileCache (the AWS CLI): no prompt", function()
    if not have_botocore() then return pending("botocore is not installed") end
    write_config()
    local key = py([[
import json, sys, datetime
from dateutil.tz import tzutc
from botocore.credentials import AssumeRoleCredentialFetcher as F
from botocore.utils import JSONFileCache
home = sys.argv[1]
f = F(client_creator=None, source_credentials=None, role_arn="]] .. ROLE .. [[", extra_args={"SerialNumber": "]] .. SERIAL .. [["})
JSONFileCache(home + "/.aws/cli/cache")[f._cache_key] = {"Credentials": {
  "AccessKeyId": "ASIAFROMCLI", "SecretAccessKey": "cli-secret", "SessionToken": "cli-token",
  "Expiration": datetime.datetime(2099, 1, 1, tzinfo=tzutc())}}
print(f._cache_key)]], home)
    assert.truthy(key:match("^%x+$"), key)
    local c = resolve({ mfa_code = code_fn("123456") }).credentials()
    assert.equal("ASIAFROMCLI", c.access_key_id)
    assert.equal(4070908800, c.expiration)
    assert.same({}, calls)
    assert.equal(0, #sts.requests())
  end)

  it("cached credentials within 15 minutes of expiry are not used: it prompts", function()
    write_config()
    resolve({ mfa_code = code_fn("123456") }).credentials()
    local files = cache_files()
    local path = home .. "/.aws/cli/cache/" .. files[1]
    fakes.write(path, (fakes.read(path):gsub("2099%-01%-01T00:00:00UTC", "2023-11-14T22:20:00UTC")))
    credentials.clear_cache()
    resolve({ mfa_code = code_fn("222222") }).credentials()
    assert.equal(2, #calls)
    assert.equal("222222", assume_requests()[2].TokenCode)
  end)

  it("is never called for a role profile without mfa_serial", function()
    fakes.write(home .. "/.aws/config", "[profile base]\naws_access_key_id = AKIDSOURCE\n"
      .. "aws_secret_access_key = " .. SOURCE_SECRET .. "\n[profile r]\nrole_arn = " .. ROLE .. "\nsource_profile = base\n")
    resolve({ profile = "r", mfa_code = code_fn("1") }).credentials()
    assert.same({}, calls)
    assert.same({}, cache_files())
  end)

  for _, case in ipairs {
    { "returns nil", function() return nil end },
    { "returns letters", function() return "abc" end },
    { "raises", function() error("tty gone " .. ROLE_SECRET) end },
  } do
    it("a code function that " .. case[1] .. ": CredentialsError", function()
      write_config()
      local ok, e = pcall(function() return resolve({ mfa_code = case[2] }).credentials() end)
      assert.is_false(ok)
      assert.equal("CredentialsError", e.code)
      assert.is_nil(tostring(e):find(ROLE_SECRET, 1, true))
    end)
  end

  it("mfa_code must be a function", function()
    local ok, e = pcall(resolve, { mfa_code = "123456" })
    assert.is_false(ok)
    assert.equal("ConfigError", e.code)
  end)
end)

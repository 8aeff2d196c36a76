-- The application id in the User-Agent, sanitised as botocore does
-- (botocore.useragent.sanitize_user_agent_string_component as the oracle).
local config = require "sfn.config"
local fakes = require "fakes.fakes"
local ua = require "sfn.useragent"

local CASES = { "billing-ui", "my app/1.0", "a#b", "caf\195\169 \226\130\172x", "x:y;z=1", "!$%&'*+-.^_`|~," }

describe("sfn.useragent", function()
  it("sanitises app ids as botocore does", function()
    local ok = os.execute("python3 -c 'import botocore.useragent' >/dev/null 2>&1")
    if not (ok == true or ok == 0) then return pending("botocore is not installed") end
    for _, s in ipairs(CASES) do
      local p = io.popen("python3 -c 'import sys; from botocore.useragent import sanitize_user_agent_string_component as f; "
        .. "sys.stdout.write(f(sys.argv[1], True))' '" .. s:gsub("'", "'\\''") .. "'")
      local want = p:read("*a")
      p:close()
      assert.equal(want, ua.sanitize(s, true), s)
    end
  end)

  it("takes the option, then AWS_SDK_UA_APP_ID, then the profile's sdk_ua_app_id", function()
    local home = fakes.tmpdir()
    fakes.write(home .. "/config", "[default]\nsdk_ua_app_id = from profile\n")
    local function app(opts, env)
      env.AWS_REGION, env.AWS_CONFIG_FILE = "us-east-1", home .. "/config"
      env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY = "AK", "SK"
      return ua.build("sfn/0.1.0", config.resolve(opts, fakes.env(env)))
    end
    assert.equal("sfn/0.1.0 app/billing-ui", app({ app_id = "billing-ui" }, { AWS_SDK_UA_APP_ID = "env" }))
    assert.equal("sfn/0.1.0 app/env-id", app({}, { AWS_SDK_UA_APP_ID = "env id" }))
    assert.equal("sfn/0.1.0 app/from-profile", app({}, {}))
    fakes.rmdir(home)
    local ok, e = pcall(config.resolve, { app_id = 5, region = "us-east-1" }, fakes.env {})
    assert.is_false(ok)
    assert.equal("ConfigError", e.code)
  end)

  it("names the transport", function()
    assert.equal("sfn/0.1.0 md/transport#ngx", ua.with_transport("sfn/0.1.0", "ngx"))
  end)
end)

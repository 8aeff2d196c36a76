-- The endpoint rules as data, case by case against botocore's resolver
-- output (spec/fixtures/config/endpoint_cases.lua), plus the STS endpoints.
local endpoints = require "sfn.endpoints"
local config = require "sfn.config"
local cases = dofile("spec/fixtures/config/endpoint_cases.lua")

local function getenv(t)
  return function(k)
    if k == "HOME" then return "/nonexistent-sfn-home" end
    if k == "AWS_EC2_METADATA_DISABLED" then return "true" end
    return t and t[k]
  end
end

describe("sfn.endpoints", function()
  it("has every partition of the issue", function()
    local names = {}
    for _, p in ipairs(endpoints.partitions) do names[#names + 1] = p.name end
    table.sort(names)
    assert.same({ "aws", "aws-cn", "aws-eusc", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-us-gov" }, names)
  end)

  for _, c in ipairs(cases) do
    local label = ("%s fips=%s dualstack=%s%s"):format(tostring(c.region), tostring(c.fips),
      tostring(c.dualstack), c.endpoint and (" endpoint=" .. c.endpoint) or "")
    it(label .. " -> " .. (c.url or ("error: " .. c.error)), function()
      local url, err = endpoints.resolve {
        region = c.region, use_fips = c.fips, use_dual_stack = c.dualstack, endpoint = c.endpoint,
      }
      assert.equal(c.url, url)
      assert.equal(c.error, err)
    end)
  end

  it("config.resolve gives the same URLs and turns rule errors into ConfigError", function()
    local n = 0
    for _, c in ipairs(cases) do
      if c.region then
        local ok, cfg = pcall(config.resolve, {
          region = c.region, endpoint = c.endpoint,
          use_fips_endpoint = c.fips, use_dualstack_endpoint = c.dualstack,
        }, getenv())
        if c.url then
          assert.is_true(ok, tostring(cfg))
          assert.equal(c.url, cfg.endpoint)
        else
          assert.is_false(ok)
          assert.equal("ConfigError", cfg.code)
        end
        n = n + 1
      end
    end
    assert.is_true(n > 200)
  end)

  it("the issue's examples", function()
    assert.equal("https://states-fips.us-east-1.api.aws",
      config.resolve({ region = "us-east-1", use_fips_endpoint = true, use_dualstack_endpoint = true }, getenv()).endpoint)
    assert.equal("https://states.cn-northwest-1.api.amazonwebservices.com.cn",
      config.resolve({ region = "cn-northwest-1" }, getenv { AWS_USE_DUALSTACK_ENDPOINT = "true" }).endpoint)
  end)

  describe("STS", function()
    it("regional by default, legacy global for the old regions", function()
      assert.same({ "https://sts.eu-west-1.amazonaws.com", "eu-west-1" }, { endpoints.sts { region = "eu-west-1" } })
      assert.same({ "https://sts.us-east-1.amazonaws.com", "us-east-1" }, { endpoints.sts { region = "us-east-1", regional_endpoints = "regional" } })
      assert.same({ "https://sts.amazonaws.com", "us-east-1" }, { endpoints.sts { region = "eu-west-1", regional_endpoints = "legacy" } })
      assert.same({ "https://sts.af-south-1.amazonaws.com", "af-south-1" }, { endpoints.sts { region = "af-south-1", regional_endpoints = "legacy" } })
      assert.same({ "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1" }, { endpoints.sts { region = "cn-north-1" } })
      assert.same({ "https://sts-fips.us-east-2.amazonaws.com", "us-east-2" }, { endpoints.sts { region = "us-east-2", use_fips = true } })
      assert.same({ "https://sts.amazonaws.com", "us-east-1" }, { endpoints.sts { region = "aws-global" } })
    end)
  end)
end)

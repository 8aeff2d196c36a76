--- The Step Functions endpoint: a custom one as given, else the rule set's
-- answer for the region. Mirrors botocore's `partitions.json` and
-- `stepfunctions/2016-11-23/endpoint-rule-set-1.json`. The region rules, the
-- partitions and the STS endpoints (`partition`, `partitions`, `sts`,
-- `sts_legacy_global`, `resolve_region`) are sfn.endpoints.rules', reached
-- through this table and loaded on first use: a client with a custom
-- endpoint starts without compiling them.
-- @module sfn.endpoints
local endpoints = setmetatable({ _VERSION = "0.1.0" }, {
  __index = function(t, k)
    local v = require("sfn.endpoints.rules")[k]
    rawset(t, k, v)
    return v
  end,
})

--- Resolves the Step Functions endpoint.
-- @tparam table p `{ region=, use_fips=, use_dual_stack=, endpoint= }`
-- @treturn string|nil the URL
-- @treturn string|nil the rule set's error text when there is no URL
function endpoints.resolve(p)
  if p.endpoint ~= nil then
    if p.use_fips then
      return nil, "Invalid Configuration: FIPS and custom endpoint are not supported"
    end
    if p.use_dual_stack then
      return nil, "Invalid Configuration: Dualstack and custom endpoint are not supported"
    end
    return p.endpoint
  end
  return endpoints.resolve_region(p)
end

return endpoints

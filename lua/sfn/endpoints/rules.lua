--- The rules behind `sfn.endpoints` for a region: botocore's partitions,
-- the `states` rule set (FIPS, dual-stack, the us-gov special cases) and
-- the STS endpoints. Loaded with their first use: a client with a custom
-- endpoint never needs them.
-- @module sfn.endpoints.rules
local rules = {}

--- One table: every partition, in the order botocore tries them. `regions`
-- are exact names (matched first, across all partitions); `pattern` is a
-- Lua pattern equivalent to the partition's `regionRegex` (tried next);
-- a region that matches nothing belongs to `aws`.
rules.partitions = {
  { name = "aws",
    pattern_prefixes = { "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx" },
    dns_suffix = "amazonaws.com", dual_stack_dns_suffix = "api.aws",
    supports_fips = true, supports_dual_stack = true,
    regions = { "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2",
      "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
      "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
      "aws-global", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1",
      "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
      "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
      "us-west-1", "us-west-2" } },
  { name = "aws-cn", pattern_prefixes = { "cn" },
    dns_suffix = "amazonaws.com.cn", dual_stack_dns_suffix = "api.amazonwebservices.com.cn",
    supports_fips = true, supports_dual_stack = true,
    regions = { "aws-cn-global", "cn-north-1", "cn-northwest-1" } },
  { name = "aws-eusc", pattern_prefixes = { "eusc%-de" },
    dns_suffix = "amazonaws.eu", dual_stack_dns_suffix = "api.amazonwebservices.eu",
    supports_fips = true, supports_dual_stack = true,
    regions = { "eusc-de-east-1" } },
  { name = "aws-iso", pattern_prefixes = { "us%-iso" },
    dns_suffix = "c2s.ic.gov", dual_stack_dns_suffix = "api.aws.ic.gov",
    supports_fips = true, supports_dual_stack = true,
    regions = { "aws-iso-global", "us-iso-east-1", "us-iso-west-1" } },
  { name = "aws-iso-b", pattern_prefixes = { "us%-isob" },
    dns_suffix = "sc2s.sgov.gov", dual_stack_dns_suffix = "api.aws.scloud",
    supports_fips = true, supports_dual_stack = true,
    regions = { "aws-iso-b-global", "us-isob-east-1", "us-isob-west-1" } },
  { name = "aws-iso-e", pattern_prefixes = { "eu%-isoe" },
    dns_suffix = "cloud.adc-e.uk", dual_stack_dns_suffix = "api.cloud-aws.adc-e.uk",
    supports_fips = true, supports_dual_stack = true,
    regions = { "aws-iso-e-global", "eu-isoe-west-1" } },
  { name = "aws-iso-f", pattern_prefixes = { "us%-isof" },
    dns_suffix = "csp.hci.ic.gov", dual_stack_dns_suffix = "api.aws.hci.ic.gov",
    supports_fips = true, supports_dual_stack = true,
    regions = { "aws-iso-f-global", "us-isof-east-1", "us-isof-south-1" } },
  { name = "aws-us-gov", pattern_prefixes = { "us%-gov" },
    dns_suffix = "amazonaws.com", dual_stack_dns_suffix = "api.aws",
    supports_fips = true, supports_dual_stack = true,
    regions = { "aws-us-gov-global", "us-gov-east-1", "us-gov-west-1" } },
}

-- The regions whose STS calls go to the global endpoint when
-- sts_regional_endpoints is "legacy".
rules.sts_legacy_global = {
  ["ap-northeast-1"] = true, ["ap-south-1"] = true, ["ap-southeast-1"] = true,
  ["ap-southeast-2"] = true, ["aws-global"] = true, ["ca-central-1"] = true,
  ["eu-central-1"] = true, ["eu-north-1"] = true, ["eu-west-1"] = true, ["eu-west-2"] = true,
  ["eu-west-3"] = true, ["sa-east-1"] = true, ["us-east-1"] = true, ["us-east-2"] = true,
  ["us-west-1"] = true, ["us-west-2"] = true,
}

-- regionRegex is ^PREFIX\-\w+\-\d+$ for every partition.
local function matches_regex(partition, region)
  for _, prefix in ipairs(partition.pattern_prefixes) do
    if region:match("^" .. prefix .. "%-[%w_]+%-%d+$") then return true end
  end
  return false
end

--- The partition of a region (botocore's `aws.partition`).
-- @tparam string region
-- @treturn table one entry of `partitions`
function rules.partition(region)
  for _, p in ipairs(rules.partitions) do
    for _, r in ipairs(p.regions) do
      if r == region then return p end
    end
  end
  for _, p in ipairs(rules.partitions) do
    if matches_regex(p, region) then return p end
  end
  return rules.partitions[1]
end

-- isValidHostLabel(region, allowSubDomains=false) as the rules engine has it
-- for the region built-in (the SDKs reject anything that cannot be a label).
local function valid_host_label(s)
  return #s >= 1 and #s <= 63 and s:match("^[%w][%w%-]*$") ~= nil
end

--- The rule set's answer for a region when there is no custom endpoint
-- (`sfn.endpoints.resolve` has the rules for one).
-- @tparam table p `{ region=, use_fips=, use_dual_stack= }`
-- @treturn string|nil the URL
-- @treturn string|nil the rule set's error text when there is no URL
function rules.resolve_region(p)
  local region = p.region
  if region == nil then return nil, "Invalid Configuration: Missing Region" end
  if not valid_host_label(region) then
    return nil, "Invalid Configuration: region is not a valid host label"
  end
  local part = rules.partition(region)
  local fips, dual = p.use_fips and true or false, p.use_dual_stack and true or false
  if region == "us-gov-west-1" and fips and not dual then
    return "https://states." .. region .. "." .. part.dns_suffix
  end
  if part.name == "aws-us-gov" and not fips and dual then
    return "https://states-fips." .. region .. "." .. part.dual_stack_dns_suffix
  end
  if fips and dual then
    if part.supports_fips and part.supports_dual_stack then
      return "https://states-fips." .. region .. "." .. part.dual_stack_dns_suffix
    end
    return nil, "FIPS and DualStack are enabled, but this partition does not support one or both"
  end
  if fips then
    if part.supports_fips then
      return "https://states-fips." .. region .. "." .. part.dns_suffix
    end
    return nil, "FIPS is enabled but this partition does not support FIPS"
  end
  if dual then
    if part.supports_dual_stack then
      return "https://states." .. region .. "." .. part.dual_stack_dns_suffix
    end
    return nil, "DualStack is enabled but this partition does not support DualStack"
  end
  return "https://states." .. region .. "." .. part.dns_suffix
end

--- The STS endpoint and signing region for the credential providers.
-- @tparam table p `{ region=, use_fips=, use_dual_stack=, regional_endpoints= ("regional"|"legacy") }`
-- @treturn string url
-- @treturn string signing region
function rules.sts(p)
  local region = p.region
  if region == nil or region == "aws-global" then
    return "https://sts.amazonaws.com", "us-east-1"
  end
  if p.regional_endpoints == "legacy" and not p.use_fips and not p.use_dual_stack
      and rules.sts_legacy_global[region] then
    return "https://sts.amazonaws.com", "us-east-1"
  end
  local part = rules.partition(region)
  local host = p.use_fips and "sts-fips." or "sts."
  local suffix = p.use_dual_stack and part.dual_stack_dns_suffix or part.dns_suffix
  return "https://" .. host .. region .. "." .. suffix, region
end

return rules

--- User-Agent pieces that follow botocore's rules: the application id
-- (`app_id` option, AWS_SDK_UA_APP_ID, the profile's sdk_ua_app_id) as
-- `app/<id>`, sanitised as botocore's sanitize_user_agent_string_component
-- (allow_hash), and the transport actually used as `md/transport#<name>`.
-- @module sfn.useragent
local useragent = { _VERSION = "0.1.0" }

local ALLOWED = {}
for c in ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%&'*+-.^_`|~,"):gmatch(".") do
  ALLOWED[c] = true
end

--- Every byte outside ASCII letters, digits and ``!$%&'*+-.^_`|~,`` (and
-- `#` when allow_hash) becomes "-". botocore replaces per character: a
-- multi-byte UTF-8 character becomes one "-".
-- @tparam string s
-- @tparam boolean allow_hash
-- @treturn string
function useragent.sanitize(s, allow_hash)
  s = tostring(s)
  -- one "-" per UTF-8 character, as Python iterates over characters
  s = s:gsub("[\194-\244][\128-\191]*", "-")
  return (s:gsub(".", function(c)
    if ALLOWED[c] or (allow_hash and c == "#") then return c end
    return "-"
  end))
end

--- The `app/<id>` component, or nil when there is no application id.
function useragent.app(app_id)
  if type(app_id) ~= "string" or app_id == "" then return nil end
  return "app/" .. useragent.sanitize(app_id, true)
end

--- The User-Agent with the application id of a resolved configuration
-- (`cfg.app_id`) appended, as botocore puts it after the platform parts.
-- @tparam string base the library's User-Agent
-- @tparam table cfg from sfn.config.resolve
-- @treturn string
function useragent.build(base, cfg)
  local app = useragent.app(cfg and cfg.app_id)
  if app then return base .. " " .. app end
  return base
end

--- The User-Agent naming the transport a call goes through: "curl"
-- (libcurl), "ngx" (OpenResty cosockets) or "function" (a user transport).
-- @tparam string agent
-- @tparam string transport
-- @treturn string
function useragent.with_transport(agent, transport)
  return agent .. " md/transport#" .. useragent.sanitize(transport, false)
end

return useragent

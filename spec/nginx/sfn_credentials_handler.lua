-- The handler spec/72-nginx_credentials_spec.lua drives: one list_map_runs
-- call per request, on a client made for the request (the OpenResty habit)
-- or on one client per worker. Answers one line: "ok PID" or "error PID MSG".
-- luacheck: globals ngx
local sfn = require "sfn"

local handler = {}

-- Set once in init_by_lua from the rendered nginx.conf: plain strings only.
local settings = {}

function handler.configure(opts)
  for k, v in pairs(opts) do
    settings[k] = v
  end
end

local function options()
  return {
    region = "us-east-1",
    endpoint = settings.endpoint,
    max_attempts = 1,
    timeout = 10,
    shared_dict = settings.shared_dict ~= "" and settings.shared_dict or nil,
  }
end

local shared

function handler.call()
  local args = ngx.req.get_uri_args()
  local ok, err = pcall(function()
    local client
    if args.client == "shared" then
      shared = shared or sfn.new(options())
      client = shared
    else
      client = sfn.new(options())
    end
    return client:list_map_runs { executionArn = settings.arn }
  end)
  if ok then
    ngx.say("ok ", ngx.worker.pid())
  else
    ngx.log(ngx.ERR, tostring(err))
    ngx.say("error ", ngx.worker.pid(), " ", tostring(err))
  end
end

-- Whether ngx.pipe works in this build (it needs OpenResty's nginx patches).
function handler.pipe()
  local ok, res = pcall(function()
    local proc = assert(require("ngx.pipe").spawn { "echo", "piped" })
    local out = proc:stdout_read_all()
    return out
  end)
  ngx.say(ok and "pipe " .. tostring(res) or "no pipe: " .. tostring(res))
end

return handler

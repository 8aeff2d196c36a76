-- One sfn client per nginx worker, made on the first request the worker
-- serves (not in init_by_lua: a client must not cross the fork) and reused
-- by every later one; its calls run on cosockets and never block the worker.
local safe = require "sfn.safe"

local M = {}
local client

--- The worker's client, or nil, err (a ConfigError or CredentialsError).
function M.client()
  if not client then
    local err
    client, err = safe.new() -- region, credentials, endpoint from the env lines
    if not client then
      return nil, err
    end
  end
  return client
end

M.iso8601 = safe.iso8601

return M

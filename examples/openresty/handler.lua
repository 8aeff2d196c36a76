-- GET /map-runs?executionArn=ARN[&maxResults=N][&nextToken=T]: one page of
-- Map Runs as JSON, through sfn.safe (nil, err instead of raising: an
-- uncaught error table is logged as "unknown reason" by ngx_lua).
local cjson = require "cjson.safe"
local map_runs = require "map_runs"

-- Error codes to HTTP statuses for the caller.
local STATUS = {
  ValidationError = 400, InvalidArn = 400, InvalidToken = 400,
  ExecutionDoesNotExist = 404,
  ThrottlingException = 429,
  TimeoutError = 504,
}

local function reply(status, body)
  ngx.status = status
  ngx.say(body)
  return ngx.exit(status)
end

local args = ngx.req.get_uri_args()
if type(args.executionArn) ~= "string" then
  return reply(400, cjson.encode { error = { code = "ValidationError", message = "executionArn is required" } })
end

local client, err = map_runs.client()
local page
if client then
  page, err = client:list_map_runs {
    executionArn = args.executionArn,
    maxResults = args.maxResults and tonumber(args.maxResults) or nil,
    nextToken = args.nextToken,
  }
end
if not page then
  ngx.log(ngx.ERR, "ListMapRuns: ", tostring(err)) -- one line, never a secret
  return reply(STATUS[err.code] or 502, cjson.encode { error = {
    code = err.code, message = err.message, request_id = err.request_id, retryable = err.retryable } })
end

-- JSON with ISO 8601 dates; cjson writes an empty table as {}, so the array
-- is joined by hand.
local items = {}
for i, run in ipairs(page.mapRuns) do
  items[i] = cjson.encode {
    executionArn = run.executionArn, mapRunArn = run.mapRunArn, stateMachineArn = run.stateMachineArn,
    startDate = map_runs.iso8601(run.startDate), stopDate = run.stopDate and map_runs.iso8601(run.stopDate) or nil,
  }
end
return reply(200, '{"mapRuns":[' .. table.concat(items, ",") .. '],"nextToken":'
  .. (page.nextToken and cjson.encode(page.nextToken) or "null") .. "}")

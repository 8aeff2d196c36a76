-- List the Map Runs of an execution from plain Lua (5.1-5.4, LuaJIT): a page
-- at a time, then every item with a stop and a resume from the token, and a
-- message and exit status for each error code.
--
--   lua5.4 examples/list.lua EXECUTION_ARN [MAX_ITEMS]
--
-- Region, credentials and endpoint come from the usual AWS configuration
-- (AWS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile,
-- AWS_ENDPOINT_URL_SFN for a stand-in such as spec/standin/server.py).
local sfn = require "sfn"

local arn, max_items = arg[1], tonumber(arg[2] or "10")
if not arn or not max_items then
  io.stderr:write("usage: list.lua EXECUTION_ARN [MAX_ITEMS]\n")
  os.exit(2)
end

-- What to tell the user for each code, and the exit status.
local ADVICE = {
  ExecutionDoesNotExist = { "no such execution: check the ARN and the region", 3 },
  InvalidArn = { "that is not an execution ARN", 2 },
  InvalidToken = { "the resume token is stale or from another listing: start over", 3 },
  ValidationError = { "bad parameters (nothing was sent)", 2 },
  ConfigError = { "fix the configuration: region, profile, endpoint or options", 2 },
  CredentialsError = { "no usable AWS credentials", 4 },
  AccessDeniedException = { "the credentials may not call states:ListMapRuns", 4 },
  UnrecognizedClientException = { "the access key is not known to AWS", 4 },
  InvalidSignatureException = { "the secret key is wrong (or the clock is far off)", 4 },
  ThrottlingException = { "throttled even after retries: try again later", 5 },
  TransportError = { "could not reach the service", 5 },
  TimeoutError = { "the service did not answer in time", 5 },
  ResponseError = { "the service's reply could not be read", 5 },
}

local function fail(err)
  if not sfn.is_error(err) then
    error(err, 0) -- not sfn's: a bug in this script
  end
  local advice = ADVICE[err.code] or { "the service refused the call", 1 }
  io.stderr:write(("list.lua: %s (%s%s)\n  %s\n"):format(advice[1], err.code,
    err.retryable and ", retryable" or "", tostring(err)))
  os.exit(advice[2])
end

local function show(run)
  print(("%s  %s  %s"):format(sfn.iso8601(run.startDate),
    run.stopDate and sfn.iso8601(run.stopDate) or "RUNNING                 ", run.mapRunArn))
end

local ok, err = pcall(function()
  local client = sfn.new() -- every option from the environment

  -- 1. One page of up to 5.
  local page = client:list_map_runs { executionArn = arn, maxResults = 5 }
  print(("first page: %d Map Runs%s"):format(#page.mapRuns, page.nextToken and ", more to come" or ""))

  -- 2. Items across pages, stopping after max_items ...
  local iterate, state = client:map_runs({ executionArn = arn }, { max_items = max_items, page_size = 7 })
  local n = 0
  for run in iterate, state do
    n = n + 1
    show(run)
  end
  local token = state.resume_token
  print(("listed %d; resume token: %s"):format(n, token or "none (that was all)"))

  -- 3. ... and the rest from the token (it works in the AWS CLI and boto3 too).
  if token then
    local rest = client:all_map_runs({ executionArn = arn }, { starting_token = token })
    for _, run in ipairs(rest) do
      show(run)
    end
    print(("resumed: %d more, %d in all"):format(#rest, n + #rest))
  end
  client:close()
end)
if not ok then
  fail(err)
end

--- The `sfn-map-runs` command: every Map Run of an execution, printed like
-- `aws stepfunctions list-map-runs --execution-arn ARN` (AWS CLI v2, with
-- auto-pagination) prints it. `bin/sfn-map-runs` only calls `main`; the logic
-- lives here so the specs can test it in-process.
--
--     sfn-map-runs EXECUTION_ARN [--max-items N] [--page-size N] [--starting-token T]
--                  [--output json|table] [--endpoint URL] [--region R] [--profile P]
--     sfn-map-runs EXECUTION_ARN --describe [...]      each Map Run's DescribeMapRun
--     sfn-map-runs EXECUTION_ARN --watch [SECONDS]     progress until every Map Run stopped
--     sfn-map-runs --executions MAP_RUN_ARN [--status-filter S] [--redrive-filter R] [...]
--
-- Output is written as the Map Runs arrive, one page in memory at a time;
-- nothing is written before the first request succeeds, and when a later
-- request fails, what was printed stays (an incomplete document) and the
-- status is 1.
-- Exit status: 0 done, 1 the listing failed (one line on stderr), 2 usage;
-- --watch: 0 when every Map Run succeeded, 1 when one failed or was aborted,
-- 130 on Ctrl-C.
-- @module sfn.cli
local sfn = require "sfn"
local core = require "sfn.core"

local cli = { _VERSION = sfn._VERSION, NAME = "sfn-map-runs" }

local NAME = cli.NAME

cli.USAGE = "usage: sfn-map-runs EXECUTION_ARN [--max-items N] [--page-size N] [--starting-token T]"
  .. " [--output json|table] [--endpoint URL] [--region R] [--profile P]"
  .. " [--describe | --watch [SECONDS]] | --executions MAP_RUN_ARN [--status-filter S] [--redrive-filter R]"

cli.HELP = cli.USAGE .. [[


List every Map Run of a Step Functions execution, walking all pages of
ListMapRuns, like `aws stepfunctions list-map-runs --execution-arn ARN`.

  EXECUTION_ARN           the execution (also accepted as --execution-arn ARN)
  --max-items N           stop after N Map Runs and print a NextToken to resume with
  --page-size N           Map Runs per request, 1..1000 (the service default is 100)
  --starting-token T      continue from a NextToken (this tool's or the AWS CLI's)
  --output json|table     json (default): the AWS CLI's JSON; table: aligned columns
  --endpoint URL          the service URL (also --endpoint-url); default from
                          AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL, the profile, the region
  --region R              default from AWS_REGION, AWS_DEFAULT_REGION, the profile
  --profile P             the shared config/credentials profile (default AWS_PROFILE, "default")
  --describe              each Map Run with its status, item counts and percent done
                          (JSON: DescribeMapRun's shape for each, under "mapRuns")
  --watch [SECONDS]       redraw the Map Runs' progress every SECONDS (default 5) until
                          every one has stopped; exit 0 if all succeeded, 1 if one
                          failed or was aborted, 130 on Ctrl-C. One DescribeMapRun per
                          running Map Run per interval. Not a terminal: a line per change
  --executions MAP_RUN_ARN  the Map Run's child executions (ListExecutions), paged
                          like the Map Runs (--max-items, --page-size, --starting-token)
  --status-filter S       with --executions: RUNNING, SUCCEEDED, FAILED, TIMED_OUT,
                          ABORTED or PENDING_REDRIVE
  --redrive-filter R      with --executions: REDRIVEN or NOT_REDRIVEN
  -h, --help              this text
  --version               the version of sfn

Credentials come from the usual AWS chain (environment, shared files, assume-role
and web-identity profiles, credential_process, container and instance metadata).
Dates are ISO 8601 UTC with milliseconds. Exit status: 0 success, 1 the listing
failed (one line on stderr), 2 usage error.
]]

local MAX_PAGE_SIZE = 1000

-- --option -> field of the parsed options, and whether the value is a count.
local VALUE_OPTIONS = {
  ["--max-items"] = { "max_items", "count" },
  ["--page-size"] = { "page_size", "count" },
  ["--starting-token"] = { "starting_token" },
  ["--output"] = { "output" },
  ["--endpoint"] = { "endpoint" },
  ["--endpoint-url"] = { "endpoint" },
  ["--region"] = { "region" },
  ["--profile"] = { "profile" },
  ["--execution-arn"] = { "execution_arn" },
  ["--executions"] = { "executions" },
  ["--map-run-arn"] = { "executions" },
  ["--status-filter"] = { "status_filter" },
  ["--redrive-filter"] = { "redrive_filter" },
}

-- Options without a value (--watch's is optional).
local FLAG_OPTIONS = { ["--describe"] = "describe" }

cli.DEFAULT_WATCH_SECONDS = 5
local MAX_WATCH_SECONDS = 3600

local OUTPUTS = { json = true, table = true }

local function quote(s)
  return "'" .. tostring(s):gsub("[%c]", "?") .. "'"
end

local function count_value(option, value)
  -- Up to 15 digits: exact in a double on every interpreter.
  if not value:match("^%d+$") or #value > 15 then
    return nil, ("%s wants a positive integer, got %s"):format(option, quote(value))
  end
  local n = tonumber(value)
  if n < 1 then
    return nil, ("%s wants a positive integer, got %s"):format(option, quote(value))
  end
  if option == "--page-size" and n > MAX_PAGE_SIZE then
    return nil, ("--page-size must be at most %d, got %s"):format(MAX_PAGE_SIZE, value)
  end
  return n
end

--- Parses the command line.
-- @tparam table argv the arguments (argv[1] .. argv[#argv]; `arg` as the interpreter gives it)
-- @treturn table options: `execution_arn`, `max_items`, `page_size`, `starting_token`,
--   `output` ("json" or "table"), `endpoint`, `region`, `profile`; or `{ help = true }`,
--   `{ version = true }`
-- @treturn[2] nil
-- @treturn[2] string what is wrong (a usage error)
function cli.parse_args(argv)
  if type(argv) ~= "table" then
    return nil, ("the arguments must be a table (got %s)"):format(type(argv))
  end
  local opts = { output = "json" }
  local n = argv.n
  if n ~= nil and (type(n) ~= "number" or n ~= n or n < 0 or n > 1e6 or n % 1 ~= 0) then
    return nil, ("the arguments' n must be a count (got %s)"):format(type(n))
  end
  n = n or #argv
  local positional = {}
  local i = 1
  local only_positional = false
  while i <= n do
    local a = argv[i]
    if type(a) ~= "string" then
      return nil, ("argument %d is not a string"):format(i)
    end
    if only_positional or a == "-" or a:sub(1, 1) ~= "-" then
      positional[#positional + 1] = a
    elseif a == "--" then
      only_positional = true
    elseif a == "-h" or a == "--help" then
      return { help = true }
    elseif a == "--version" then
      return { version = true }
    elseif FLAG_OPTIONS[a] then
      opts[FLAG_OPTIONS[a]] = true
    elseif a == "--watch" or a:match("^%-%-watch=") then
      local value = a:match("^%-%-watch=(.*)$")
      if value == nil and type(argv[i + 1]) == "string" and argv[i + 1]:match("^%d*%.?%d+$") then
        i = i + 1
        value = argv[i]
      end
      local seconds = value and value:match("^%d*%.?%d+$") and tonumber(value)
      if value and not (seconds and seconds > 0 and seconds <= MAX_WATCH_SECONDS) then
        return nil, ("--watch wants seconds in (0, %d], got %s"):format(MAX_WATCH_SECONDS, quote(value))
      end
      opts.watch = seconds or cli.DEFAULT_WATCH_SECONDS
    else
      local option, value = a:match("^(%-%-[^=]+)=(.*)$")
      option = option or a
      local spec = VALUE_OPTIONS[option]
      if not spec then
        return nil, "unknown option " .. quote(option)
      end
      if not value then
        i = i + 1
        value = argv[i]
        if type(value) ~= "string" then
          return nil, option .. " wants a value"
        end
      end
      if value == "" then
        return nil, option .. " wants a non-empty value"
      end
      if spec[2] == "count" then
        local number, err = count_value(option, value)
        if not number then
          return nil, err
        end
        value = number
      end
      opts[spec[1]] = value
    end
    i = i + 1
  end
  if not OUTPUTS[opts.output] then
    return nil, "--output wants json or table, got " .. quote(opts.output)
  end
  local modes = (opts.describe and 1 or 0) + (opts.watch and 1 or 0) + (opts.executions and 1 or 0)
  if modes > 1 then
    return nil, "--describe, --watch and --executions go one at a time"
  end
  if (opts.status_filter or opts.redrive_filter) and not opts.executions then
    return nil, (opts.status_filter and "--status-filter" or "--redrive-filter") .. " goes with --executions"
  end
  if opts.watch and (opts.max_items or opts.starting_token) then
    return nil, "--watch shows every Map Run: no --max-items or --starting-token"
  end
  if opts.executions then
    if #positional > 0 or opts.execution_arn then
      return nil, "--executions takes a MAP_RUN_ARN, not an EXECUTION_ARN (got "
        .. quote(positional[1] or opts.execution_arn) .. ")"
    end
    return opts
  end
  if #positional > 1 or (#positional == 1 and opts.execution_arn) then
    return nil, "one EXECUTION_ARN, please (got " .. quote(positional[#positional]) .. " too)"
  end
  opts.execution_arn = opts.execution_arn or positional[1]
  if opts.execution_arn == nil or opts.execution_arn == "" then
    return nil, "missing EXECUTION_ARN"
  end
  return opts
end

-- JSON ---------------------------------------------------------------------

-- Bytes that are not well-formed UTF-8 become U+FFFD (sfn.core owns the
-- rule), so text output is always valid UTF-8.
local valid_utf8 = core.valid_utf8

--- A JSON string literal, escaped as Python's `json.dumps(s, ensure_ascii=False)`
-- does; non-ASCII stays UTF-8 (invalid bytes become U+FFFD). The escaping is
-- `sfn.core.json_string`'s, in one pass.
-- @function json_string
-- @tparam string s
-- @treturn string
cli.json_string = core.json_string

local json_string = cli.json_string
local json_object = core.json_object

-- The members of a Map Run in the service model's order (startDate and
-- stopDate, ending in "Date", are written as ISO 8601).
cli.MAP_RUN_KEYS = { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" }
local MAP_RUN_KEYS = cli.MAP_RUN_KEYS

--- One Map Run as the AWS CLI prints it inside the `mapRuns` array: 4-space
-- indentation starting at `depth` levels, model order, dates as ISO 8601,
-- absent members (stopDate of a running Map Run) left out. Written by
-- `sfn.core.json_object`, which holds the AWS CLI's rules for values.
-- @tparam table run a Map Run from the library
-- @tparam[opt=0] number depth nesting level of the object
-- @treturn string no trailing newline
function cli.map_run_json(run, depth)
  return json_object(run, MAP_RUN_KEYS, depth)
end

-- The members of DescribeMapRun's output, of its counts and of an
-- ExecutionListItem, in the service model's order.
cli.DESCRIBE_KEYS = { "mapRunArn", "executionArn", "status", "startDate", "stopDate", "maxConcurrency",
  "toleratedFailurePercentage", "toleratedFailureCount", "itemCounts", "executionCounts", "redriveCount",
  "redriveDate" }
cli.COUNT_KEYS = { "pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
  "resultsWritten", "failuresNotRedrivable", "pendingRedrive" }
cli.EXECUTION_KEYS = { "executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate",
  "mapRunArn", "itemCount", "stateMachineVersionArn", "stateMachineAliasArn", "redriveCount", "redriveDate" }
-- Members whose model type is a float: the AWS CLI prints 5.0, not 5.
local FLOAT_KEYS = { toleratedFailurePercentage = true }

--- An object as the AWS CLI prints it: `keys` in order (absent ones left
-- out), members ending in "Date" as ISO 8601, nested objects (the counts)
-- in `cli.COUNT_KEYS` order.
-- @tparam table obj
-- @tparam table keys
-- @tparam[opt=0] number depth
-- @treturn string no trailing newline
function cli.object_json(obj, keys, depth)
  return json_object(obj, keys, depth, cli.COUNT_KEYS, FLOAT_KEYS)
end

-- Formatters: item(run) as the runs arrive, finish(token) at the end. Nothing
-- is written before the first Map Run (or the end) is known, so a failing
-- first request leaves stdout empty. `key` names the array ("mapRuns",
-- "executions"), `encode(item, depth)` writes one element.

local function json_formatter(write, key, encode)
  key = key or "mapRuns"
  encode = encode or cli.map_run_json
  local count = 0
  local f = {}
  function f.item(run)
    if count == 0 then
      write('{\n    "' .. key .. '": [\n')
    else
      write(",\n")
    end
    count = count + 1
    write(encode(run, 2))
  end
  function f.finish(token)
    if count == 0 then
      write('{\n    "' .. key .. '": []')
    else
      write("\n    ]")
    end
    if token then
      write(',\n    "NextToken": ' .. json_string(token))
    end
    write("\n}\n")
  end
  return f
end

-- Table ---------------------------------------------------------------------

cli.TABLE_HEADER = { "MAP RUN ARN", "STATE MACHINE ARN", "START", "STOP" }

-- Rows buffered to size the columns before the first line is printed; later
-- rows reuse those widths (a longer cell pushes only its own line).
local TABLE_SIZING_ROWS = 1000

local function width(s)
  -- Characters, not bytes: count the bytes that do not continue a sequence.
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end

local function cell(v)
  if v == nil then
    return "-"
  end
  if type(v) == "number" then
    return sfn.iso8601(v)
  end
  return (valid_utf8(tostring(v)):gsub("%c", "?"))
end

--- The table row of one Map Run: Map Run ARN, state machine ARN, start, stop
-- (or RUNNING).
-- @tparam table run
-- @treturn table four strings
function cli.table_row(run)
  return {
    cell(run.mapRunArn),
    cell(run.stateMachineArn),
    cell(run.startDate),
    run.stopDate == nil and "RUNNING" or cell(run.stopDate),
  }
end

--- A percentage of the items done (succeeded, failed, timed out, aborted).
-- @tparam table counts itemCounts
-- @treturn number 0..100, floored
function cli.percent_done(counts)
  local total = tonumber(counts.total) or 0
  if total <= 0 then
    return 0
  end
  local done = (counts.succeeded or 0) + (counts.failed or 0) + (counts.timedOut or 0) + (counts.aborted or 0)
  return math.floor(100 * done / total)
end

cli.DESCRIBE_HEADER = { "MAP RUN ARN", "STATUS", "SUCCEEDED", "FAILED", "RUNNING", "PENDING", "TOTAL", "DONE" }

--- The table row of one described Map Run.
function cli.describe_row(d)
  local c = d.itemCounts or {}
  local failed = (c.failed or 0) + (c.timedOut or 0) + (c.aborted or 0)
  return { cell(d.mapRunArn), cell(d.status), tostring(c.succeeded or 0), tostring(failed),
    tostring(c.running or 0), tostring(c.pending or 0), tostring(c.total or 0), cli.percent_done(c) .. "%" }
end

cli.EXECUTION_HEADER = { "EXECUTION ARN", "STATUS", "START", "STOP" }

--- The table row of one execution.
function cli.execution_row(e)
  return { cell(e.executionArn), cell(e.status), cell(e.startDate), e.stopDate == nil and "-" or cell(e.stopDate) }
end

local function table_formatter(write, header, to_row)
  header = header or cli.TABLE_HEADER
  to_row = to_row or cli.table_row
  local widths
  local pending = {}
  local f = {}

  local function line(row)
    local out = {}
    for i = 1, #row - 1 do
      out[i] = row[i] .. (" "):rep(widths[i] - width(row[i]) + 2)
    end
    out[#row] = row[#row]
    write(table.concat(out) .. "\n")
  end

  local function flush_pending()
    widths = {}
    for i, h in ipairs(header) do
      widths[i] = width(h)
    end
    for _, row in ipairs(pending) do
      for i, c in ipairs(row) do
        widths[i] = math.max(widths[i], width(c))
      end
    end
    line(header)
    for _, row in ipairs(pending) do
      line(row)
    end
    pending = nil
  end

  function f.item(run)
    local row = to_row(run)
    if pending then
      pending[#pending + 1] = row
      if #pending >= TABLE_SIZING_ROWS then
        flush_pending()
      end
    else
      line(row)
    end
  end

  function f.finish(token)
    if pending then
      flush_pending()
    end
    if token then
      write("NextToken: " .. token .. "\n")
    end
  end
  return f
end

cli.formatters = { json = json_formatter, table = table_formatter }

-- What each mode lists: the array's key, the JSON encoder, the table's header
-- and rows.
local MODES = {
  list = { "mapRuns", cli.map_run_json, nil, nil },
  describe = { "mapRuns", function(d, depth) return cli.object_json(d, cli.DESCRIBE_KEYS, depth) end,
    cli.DESCRIBE_HEADER, cli.describe_row },
  executions = { "executions", function(e, depth) return cli.object_json(e, cli.EXECUTION_KEYS, depth) end,
    cli.EXECUTION_HEADER, cli.execution_row },
}

-- Running -------------------------------------------------------------------

-- Raised (as the error value) when stdout cannot be written.
local WriteError = {}
WriteError.__index = WriteError
WriteError.__tostring = function(e)
  return "cannot write the output: " .. tostring(e.message)
end

local EPIPE = 32

local function writer(file)
  return function(s)
    local ok, err, code = file:write(s)
    if not ok then
      error(setmetatable({ message = err, errno = code }, WriteError), 0)
    end
  end
end

local function one_line(s)
  return (tostring(s):gsub("%s*[\r\n]+%s*", " "):gsub("%s+$", ""))
end

--- Asks for an MFA code on the terminal (/dev/tty), without echo, as the
-- AWS CLI does: `Enter MFA code for <serial>: `. The library calls it only
-- when a role profile has mfa_serial and no cached role credentials.
-- @tparam string serial the MFA device
-- @treturn string the code
-- @raise CredentialsError when there is no terminal
function cli.prompt_mfa(serial)
  local tty = io.open("/dev/tty", "r+")
  if not tty then
    require("sfn.errors").raise("CredentialsError",
      "an MFA code is needed but there is no terminal to ask for it on")
  end
  local shown = tostring(serial):sub(1, 200):gsub("%c", "?")
  tty:write("Enter MFA code for " .. shown .. ": ")
  tty:flush()
  os.execute("stty -echo < /dev/tty 2>/dev/null")
  local ok, line = pcall(tty.read, tty, "*l")
  os.execute("stty echo < /dev/tty 2>/dev/null")
  tty:write("\n")
  tty:close()
  if not ok or type(line) ~= "string" then
    require("sfn.errors").raise("CredentialsError", "no MFA code was entered")
  end
  return line
end

--- Lists the Map Runs the options ask for and writes them with `write`.
-- @tparam table opts from `parse_args`
-- @tparam function write called with each piece of output
-- @tparam[opt] function new_client `sfn.new` or a stand-in for it
-- @raise sfn.Error from the library, or a write error
function cli.list(opts, write, new_client)
  local client = (new_client or sfn.new) {
    endpoint = opts.endpoint,
    region = opts.region,
    profile = opts.profile,
    mfa_code = cli.prompt_mfa,
  }
  local mode = opts.executions and "executions" or opts.describe and "describe" or "list"
  local m = MODES[mode]
  local format
  if (opts.output or "json") == "json" then
    format = json_formatter(write, m[1], m[2])
  else
    format = table_formatter(write, m[3], m[4])
  end
  local pagination = {
    max_items = opts.max_items,
    page_size = opts.page_size,
    starting_token = opts.starting_token,
  }
  local iterate, pager, init, closing
  if mode == "executions" then
    iterate, pager, init, closing = client:executions({ mapRunArn = opts.executions,
      statusFilter = opts.status_filter, redriveFilter = opts.redrive_filter }, pagination)
  elseif mode == "describe" then
    iterate, pager, init, closing = client:map_run_descriptions({ executionArn = opts.execution_arn }, pagination)
  else
    iterate, pager, init, closing = client:map_runs({ executionArn = opts.execution_arn }, pagination)
  end
  for run in iterate, pager, init, closing do -- closing: Lua 5.4's to-be-closed value
    format.item(run)
  end
  format.finish(pager.resume_token)
  if client.close then
    client:close()
  end
end

-- Watching --------------------------------------------------------------------

local BAR_WIDTH = 24

--- A Map Run's short name: "machine/label:first 8 of its id".
function cli.short_name(arn)
  arn = valid_utf8(tostring(arn or "?")):gsub("%c", "?")
  local tail = arn:match(":mapRun:(.*)$") or arn
  local head, id = tail:match("^(.*):([^:]+)$")
  if head then
    return head .. ":" .. id:sub(1, 8)
  end
  return tail
end

local function clock(seconds)
  seconds = math.max(0, math.floor(seconds + 0.5))
  local h, m, sec = math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60
  if h > 0 then
    return ("%d:%02d:%02d"):format(h, m, sec)
  end
  return ("%d:%02d"):format(m, sec)
end

--- The progress bar of itemCounts: `#` succeeded, `x` failed, timed out or
-- aborted, `>` running, `.` pending; `bar_width` characters.
function cli.progress_bar(c, bar_width)
  local cols = bar_width or BAR_WIDTH
  local total = tonumber(c.total) or 0
  if total <= 0 then
    return (" "):rep(cols)
  end
  local parts = {
    { "#", c.succeeded or 0 },
    { "x", (c.failed or 0) + (c.timedOut or 0) + (c.aborted or 0) },
    { ">", c.running or 0 },
  }
  local out, used, cum = {}, 0, 0
  for _, p in ipairs(parts) do
    cum = cum + p[2]
    local upto = math.min(cols, math.floor(cols * cum / total + 0.5))
    if p[2] > 0 and upto <= used and used < cols then
      upto = used + 1 -- a non-zero share always shows
    end
    out[#out + 1] = p[1]:rep(upto - used)
    used = math.max(used, upto)
  end
  out[#out + 1] = ("."):rep(cols - used)
  return table.concat(out)
end

local function elapsed_of(d, now)
  local start = tonumber(d.startDate) or now
  return math.max(0, (tonumber(d.stopDate) or now) - start)
end

--- One Map Run's line in the terminal view.
-- @tparam table d the DescribeMapRun result
-- @tparam number now epoch seconds
function cli.watch_line(d, now)
  local c = d.itemCounts or {}
  local done = (c.succeeded or 0) + (c.failed or 0) + (c.timedOut or 0) + (c.aborted or 0)
  local elapsed = elapsed_of(d, now)
  local rate = elapsed > 0 and done / elapsed or 0
  return ("%-28s %-9s [%s] %5s/%-5s %3d%%  %7s  %7.1f/s"):format(cli.short_name(d.mapRunArn), cell(d.status),
    cli.progress_bar(c), tostring(done), tostring(c.total or 0), cli.percent_done(c), clock(elapsed), rate)
end

--- One Map Run's line when stdout is not a terminal (printed when it changes).
function cli.watch_plain_line(d, now)
  local c = d.itemCounts or {}
  return ("%s %s %s succeeded=%d failed=%d timedOut=%d aborted=%d running=%d pending=%d total=%d %d%%"):format(
    sfn.iso8601(math.floor(now)):gsub("%.000Z$", "Z"), cli.short_name(d.mapRunArn), cell(d.status),
    c.succeeded or 0, c.failed or 0, c.timedOut or 0, c.aborted or 0, c.running or 0, c.pending or 0,
    c.total or 0, cli.percent_done(c))
end

local STOPPED = { SUCCEEDED = true, FAILED = true, ABORTED = true }

-- An interrupt (Ctrl-C) as the standalone interpreters raise it, possibly
-- wrapped into an sfn.Error by a hook that was running.
local function interrupted(err)
  local text = type(err) == "table" and tostring(err.message) or tostring(err)
  return text:find("interrupted!", 1, true) ~= nil
end

--- Watches an execution's Map Runs until every one has stopped.
-- @tparam table opts from `parse_args` (execution_arn, watch, page_size)
-- @tparam function write
-- @tparam table ctx { tty = bool, now = function, sleep = function, new_client = function, columns = n }
-- @treturn number 0 (all succeeded) or 1 (one failed or was aborted)
function cli.watch(opts, write, ctx)
  ctx = ctx or {}
  local client = (ctx.new_client or sfn.new) {
    endpoint = opts.endpoint,
    region = opts.region,
    profile = opts.profile,
  }
  local now = ctx.now or os.time
  local sleep = ctx.sleep or require("sfn.core").sleep
  local tty = ctx.tty
  local described, order, printed = {}, {}, {}
  local drawn = 0
  local started = now()
  if tty then
    write("\27[?25l") -- hide the cursor while drawing
  end
  while true do
    -- the list may grow while the execution runs; one DescribeMapRun per
    -- Map Run not yet known to have stopped
    -- (not `for run in iterate, pager, init, closing`: Lua 5.1 miscompiles a
    -- four-value for-in whose body declares locals)
    local iterate, pager = client:map_runs({ executionArn = opts.execution_arn }, { page_size = opts.page_size })
    while true do
      local run = iterate(pager)
      if run == nil then
        break
      end
      local arn = run.mapRunArn
      if not described[arn] then
        order[#order + 1] = arn
      end
      if not (described[arn] and STOPPED[described[arn].status]) then
        described[arn] = client:describe_map_run { mapRunArn = arn }
      end
    end
    local t = now()
    local running, failed = 0, 0
    for _, arn in ipairs(order) do
      local st = described[arn].status
      if not STOPPED[st] then
        running = running + 1
      elseif st ~= "SUCCEEDED" then
        failed = failed + 1
      end
    end
    if tty then
      local lines = {
        ("%s --watch %s  every %gs  %s"):format(NAME, cell(opts.execution_arn), opts.watch, clock(t - started)),
        ("%d Map Runs: %d running, %d stopped%s"):format(#order, running, #order - running,
          failed > 0 and (", " .. failed .. " failed or aborted") or ""),
      }
      for _, arn in ipairs(order) do
        lines[#lines + 1] = cli.watch_line(described[arn], t)
      end
      local frame = {}
      if drawn > 0 then
        frame[1] = "\27[" .. drawn .. "F\27[J" -- back to the frame's first line, clear below
      end
      local columns = ctx.columns or 200
      for _, l in ipairs(lines) do
        if width(l) > columns then
          l = l:sub(1, columns)
        end
        frame[#frame + 1] = l .. "\n"
      end
      write(table.concat(frame))
      drawn = #lines
    else
      for _, arn in ipairs(order) do
        local d = described[arn]
        local c = d.itemCounts or {}
        local key = table.concat({ d.status, c.succeeded, c.failed, c.timedOut, c.aborted, c.running, c.pending }, " ")
        if printed[arn] ~= key then
          printed[arn] = key
          write(cli.watch_plain_line(d, t) .. "\n")
        end
      end
    end
    if ctx.flush then
      ctx.flush()
    end
    if running == 0 then
      if tty then
        write("\27[?25h")
      end
      return failed > 0 and 1 or 0
    end
    -- slept in slices: Ctrl-C is seen within a tenth of a second
    local remaining = opts.watch
    while remaining > 0 do
      sleep(math.min(0.1, remaining))
      remaining = remaining - 0.1
    end
  end
end

--- Runs the command with the given streams; returns the exit status.
-- @tparam table argv the arguments
-- @tparam[opt] table ctx { stdout = file, stderr = file, new_client = function }:
--   what to write to (default io.stdout, io.stderr) and `sfn.new`'s replacement
-- @treturn number 0, 1 (the listing failed) or 2 (usage)
function cli.run(argv, ctx)
  ctx = ctx or {}
  local stdout = ctx.stdout or io.stdout
  local stderr = ctx.stderr or io.stderr
  local opts, usage_error = cli.parse_args(argv == nil and {} or argv)
  if not opts then
    stderr:write(NAME, ": ", usage_error, "\n", cli.USAGE, "\n")
    stderr:flush()
    return 2
  end

  local write = writer(stdout)
  local status = 0
  local ok, err = pcall(function()
    if opts.help then
      write(cli.HELP)
    elseif opts.version then
      write(("%s %s (%s)\n"):format(NAME, cli._VERSION, type(jit) == "table" and jit.version or _VERSION))
    elseif opts.watch then
      local tty = ctx.tty
      if tty == nil then
        tty = stdout == io.stdout and cli.stdout_is_terminal()
      end
      status = cli.watch(opts, write, {
        tty = tty, now = ctx.now, sleep = ctx.sleep, new_client = ctx.new_client,
        columns = ctx.columns or (tty and cli.terminal_columns()) or nil,
        flush = function()
          stdout:flush()
        end,
      })
    else
      cli.list(opts, write, ctx.new_client)
    end
    local flushed, message, code = stdout:flush()
    if not flushed then
      error(setmetatable({ message = message, errno = code }, WriteError), 0)
    end
  end)
  if ok then
    return status
  end
  if opts.watch and interrupted(err) then
    -- Ctrl-C: a clean terminal (cursor back, below the frame) and 130
    pcall(stdout.write, stdout, ctx.tty ~= false and "\27[?25h\n" or "")
    pcall(stdout.flush, stdout)
    return 130
  end
  if opts.watch then
    pcall(stdout.write, stdout, ctx.tty and "\27[?25h" or "")
  end
  if getmetatable(err) == WriteError then
    -- A reader that went away (`| head`) is not worth a message.
    if err.errno ~= EPIPE and not tostring(err.message):find("Broken pipe", 1, true) then
      stderr:write(NAME, ": ", one_line(err), "\n")
    end
  else
    pcall(stdout.flush, stdout) -- what was printed comes before the error line
    stderr:write(NAME, ": ", one_line(err), "\n")
  end
  stderr:flush()
  return 1
end

--- Whether the process's stdout is a terminal (`test -t 1`, which inherits it).
function cli.stdout_is_terminal()
  local a, _, c = os.execute("test -t 1")
  return a == true or a == 0 or (a == nil and c == 0)
end

--- The terminal's width, from COLUMNS or `stty size`, or nil.
function cli.terminal_columns()
  local n = tonumber(os.getenv("COLUMNS") or "")
  if n and n > 0 then
    return n
  end
  local h = io.popen("stty size </dev/tty 2>/dev/null")
  if h then
    local out = h:read("*a") or ""
    h:close()
    n = tonumber(out:match("%d+%s+(%d+)"))
  end
  return n
end

--- The entry point of bin/sfn-map-runs: `os.exit(require("sfn.cli").main(arg))`.
-- @tparam table argv the interpreter's `arg`
-- @treturn number the exit status: 0, 1 when the listing failed, 2 for a usage error
-- @raise nothing: every failure is a line on stderr and a status
-- @usage os.exit(require("sfn.cli").main { [0] = "sfn-map-runs", arn, "--max-items", "10" })
function cli.main(argv)
  io.stdout:setvbuf("full")
  return cli.run(argv)
end

return cli

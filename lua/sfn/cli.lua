--- The `sfn-map-runs` command: every Map Run of an execution, printed like
-- `aws stepfunctions list-map-runs --execution-arn ARN` (AWS CLI v2, with
-- auto-pagination) prints it. `bin/sfn-map-runs` only calls `main`; the logic
-- lives here so the specs can test it in-process.
--
--     sfn-map-runs EXECUTION_ARN [--max-items N] [--page-size N] [--starting-token T]
--                  [--output json|table] [--endpoint URL] [--region R] [--profile P]
--
-- Output is written as the Map Runs arrive, one page in memory at a time;
-- nothing is written before the first request succeeds, and when a later
-- request fails, what was printed stays (an incomplete document) and the
-- status is 1.
-- Exit status: 0 done, 1 the listing failed (one line on stderr), 2 usage.
-- @module sfn.cli
local sfn = require "sfn"

local cli = { _VERSION = sfn._VERSION, NAME = "sfn-map-runs" }

local NAME = cli.NAME

cli.USAGE = "usage: sfn-map-runs EXECUTION_ARN [--max-items N] [--page-size N] [--starting-token T]"
  .. " [--output json|table] [--endpoint URL] [--region R] [--profile P]"

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
}

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

-- What Python's json.dumps(ensure_ascii=False) escapes, spelled the same way,
-- so the output is byte for byte what the AWS CLI would print.
local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
for b = 0, 31 do
  local c = string.char(b)
  ESCAPES[c] = ESCAPES[c] or ("\\u%04x"):format(b)
end

-- A NUL in a pattern needs %z on Lua 5.1 and "\0" from 5.2 on.
local SPECIAL = "[%z\1-\31\"\\]"
do
  local ok, found = pcall(string.find, "\0", SPECIAL)
  if not (ok and found) then
    SPECIAL = "[\0-\31\"\\]"
  end
end

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- Returns s with every byte that is not part of a well-formed UTF-8 sequence
-- (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF)
-- replaced by U+FFFD, so the output is always valid JSON text.
local function valid_utf8(s)
  if not s:find("[\128-\255]") then
    return s
  end
  local out, n, i, len = {}, 0, 1, #s
  local byte = string.byte
  while i <= len do
    local c = byte(s, i)
    local size, lo, hi = 0, 0x80, 0xBF
    if c < 0x80 then
      size = 1
    elseif c >= 0xC2 and c <= 0xDF then
      size = 2
    elseif c >= 0xE0 and c <= 0xEF then
      size = 3
      if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
    elseif c >= 0xF0 and c <= 0xF4 then
      size = 4
      if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
    end
    local good = size > 0
    for k = 1, size - 1 do
      local d = byte(s, i + k)
      if not d or d < (k == 1 and lo or 0x80) or d > (k == 1 and hi or 0xBF) then
        good = false
        break
      end
    end
    n = n + 1
    if good then
      out[n] = s:sub(i, i + size - 1)
      i = i + size
    else
      out[n] = REPLACEMENT
      i = i + 1
    end
  end
  return table.concat(out)
end
cli.valid_utf8 = valid_utf8

--- A JSON string literal, escaped as Python's `json.dumps(s, ensure_ascii=False)`
-- does; non-ASCII stays UTF-8 (invalid bytes become U+FFFD).
-- @tparam string s
-- @treturn string
function cli.json_string(s)
  s = valid_utf8(s)
  if s:find(SPECIAL) then
    s = s:gsub(SPECIAL, ESCAPES)
  end
  return '"' .. s .. '"'
end

local json_string = cli.json_string

local function json_scalar(v)
  local t = type(v)
  if t == "string" then
    return json_string(v)
  elseif t == "boolean" then
    return tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      return "null"
    elseif v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      return ("%d"):format(v)
    end
    return ("%.17g"):format(v)
  end
  return "null"
end

-- The members of a Map Run in the service model's order, and which are dates.
cli.MAP_RUN_KEYS = { "executionArn", "mapRunArn", "stateMachineArn", "startDate", "stopDate" }
local MAP_RUN_KEYS = cli.MAP_RUN_KEYS
local DATE_KEYS = { startDate = true, stopDate = true }

local function indent(depth)
  return ("    "):rep(depth)
end

--- One Map Run as the AWS CLI prints it inside the `mapRuns` array: 4-space
-- indentation starting at `depth` levels, model order, dates as ISO 8601,
-- absent members (stopDate of a running Map Run) left out.
-- @tparam table run a Map Run from the library
-- @tparam[opt=0] number depth nesting level of the object
-- @treturn string no trailing newline
function cli.map_run_json(run, depth)
  local pad = indent(depth or 0)
  local inner = pad .. "    "
  local parts = {}
  for _, key in ipairs(MAP_RUN_KEYS) do
    local v = run[key]
    if v ~= nil then
      if DATE_KEYS[key] and type(v) == "number" then
        v = sfn.iso8601(v)
      end
      parts[#parts + 1] = inner .. '"' .. key .. '": ' .. json_scalar(v)
    end
  end
  if #parts == 0 then
    return pad .. "{}"
  end
  return pad .. "{\n" .. table.concat(parts, ",\n") .. "\n" .. pad .. "}"
end

-- Formatters: item(run) as the runs arrive, finish(token) at the end. Nothing
-- is written before the first Map Run (or the end) is known, so a failing
-- first request leaves stdout empty.

local function json_formatter(write)
  local count = 0
  local f = {}
  function f.item(run)
    if count == 0 then
      write('{\n    "mapRuns": [\n')
    else
      write(",\n")
    end
    count = count + 1
    write(cli.map_run_json(run, 2))
  end
  function f.finish(token)
    if count == 0 then
      write('{\n    "mapRuns": []')
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

local function table_formatter(write)
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
    for i, h in ipairs(cli.TABLE_HEADER) do
      widths[i] = width(h)
    end
    for _, row in ipairs(pending) do
      for i, c in ipairs(row) do
        widths[i] = math.max(widths[i], width(c))
      end
    end
    line(cli.TABLE_HEADER)
    for _, row in ipairs(pending) do
      line(row)
    end
    pending = nil
  end

  function f.item(run)
    local row = cli.table_row(run)
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
  }
  local format = cli.formatters[opts.output or "json"](write)
  local iterate, pager, init, closing = client:map_runs({ executionArn = opts.execution_arn }, {
    max_items = opts.max_items,
    page_size = opts.page_size,
    starting_token = opts.starting_token,
  })
  for run in iterate, pager, init, closing do -- closing: Lua 5.4's to-be-closed value
    format.item(run)
  end
  format.finish(pager.resume_token)
  if client.close then
    client:close()
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
  local ok, err = pcall(function()
    if opts.help then
      write(cli.HELP)
    elseif opts.version then
      write(("%s %s (%s)\n"):format(NAME, cli._VERSION, type(jit) == "table" and jit.version or _VERSION))
    else
      cli.list(opts, write, ctx.new_client)
    end
    local flushed, message, code = stdout:flush()
    if not flushed then
      error(setmetatable({ message = message, errno = code }, WriteError), 0)
    end
  end)
  if ok then
    return 0
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

-- bin/sfn-map-runs and sfn.cli: the argument parser and the JSON writer
-- in-process, then the real command as a subprocess against the stand-in,
-- checked with python3's json module and against boto3's paginator (the AWS
-- CLI's own machinery) as independent oracles.
local cli = require "sfn.cli"
local sfn = require "sfn"
local standin = require "standin"
local support = require "support"

local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN_KEY, TOKEN_SECRET, TOKEN = "ASIACLITOKENKEY", "cliTokenSecret/EXAMPLE+xyz", "FQoGZXIvYXdzEXAMPLEclisessiontoken"
local SECRETS = { SECRET, TOKEN_SECRET, TOKEN, "wJalrXUtnFEMI" }
local PREFIX = "arn:aws:states:us-east-1:123456789012:execution:flow:"

local function arn(name)
  return PREFIX .. name
end

-- Shell and files ------------------------------------------------------------

local quote, capture, read, write_file = support.quote, support.capture, support.read_file, support.write_file

local ROOT = capture("pwd"):match("[^\n]+")
local TMP = support.tmpdir("sfn-cli-spec")

-- The interpreter running busted (arg's lowest index), unless SFN_LUA says.
local LUA = support.interpreter()

-- A python3 that works without $HOME (pyenv shims need it to find themselves).
local PYTHON = capture("python3 -c 'import sys; print(sys.executable)' 2>/dev/null"):match("[^\n]+") or "python3"

local function env_for(overrides)
  local env = {
    PATH = os.getenv("PATH") or "/usr/bin:/bin",
    HOME = TMP .. "/home",
    AWS_CONFIG_FILE = TMP .. "/home/config",
    AWS_SHARED_CREDENTIALS_FILE = TMP .. "/home/credentials",
    AWS_ACCESS_KEY_ID = KEY,
    AWS_SECRET_ACCESS_KEY = SECRET,
    AWS_REGION = "us-east-1",
    AWS_EC2_METADATA_DISABLED = "true",
    AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:9/",
    LUA_PATH = support.lua_path(ROOT),
    LUA_CPATH = support.lua_cpath(ROOT),
    NO_PROXY = "127.0.0.1,localhost",
    no_proxy = "127.0.0.1,localhost",
  }
  -- Sanitizer runs (make asan) need the runtime preloaded in the child too.
  for _, name in ipairs { "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" } do
    env[name] = os.getenv(name)
  end
  for k, v in pairs(overrides or {}) do
    env[k] = v or nil
  end
  return env
end

local function env_command(env)
  local parts = { "env", "-i" }
  local names = {}
  for k in pairs(env) do
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do
    parts[#parts + 1] = quote(k .. "=" .. env[k])
  end
  return table.concat(parts, " ")
end

local function assert_no_secret(...)
  for i = 1, select("#", ...) do
    local text = select(i, ...) or ""
    for _, secret in ipairs(SECRETS) do
      assert(not text:find(secret, 1, true), "a secret appeared in the output:\n" .. text)
    end
  end
end

--- Runs bin/sfn-map-runs with args; opts.env changes the environment (false
-- removes a variable), opts.wrap(cmd) builds a shell line around it.
-- Returns { status =, stdout =, stderr = }.
local function run(args, opts)
  opts = opts or {}
  local cmd = { env_command(env_for(opts.env)), quote(LUA), quote(ROOT .. "/bin/sfn-map-runs") }
  for _, a in ipairs(args) do
    cmd[#cmd + 1] = quote(a)
  end
  local line = table.concat(cmd, " ")
  local out, err = TMP .. "/stdout", TMP .. "/stderr"
  os.remove(out)
  os.remove(err)
  local shell
  if opts.wrap then
    shell = opts.wrap(line, out, err)
  else
    shell = line .. " >" .. quote(out) .. " 2>" .. quote(err) .. " </dev/null; echo $?"
  end
  local status = tonumber(capture(shell):match("(%d+)%s*$"))
  local r = { status = status, stdout = read(out) or "", stderr = read(err) or "" }
  assert_no_secret(r.stdout, r.stderr)
  return r
end

local function lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do
    t[#t + 1] = l
  end
  return t
end

-- python3's json: loads the text (independent validity check) and prints it
-- again as the AWS CLI would (json.dumps(indent=4, ensure_ascii=False)).
local function python_redump(text)
  write_file(TMP .. "/redump.json", text)
  return capture(quote(PYTHON) .. " -c " .. quote(
    "import json,sys; d=json.load(open(sys.argv[1], encoding='utf-8')); " ..
    "sys.stdout.write(json.dumps(d, indent=4, ensure_ascii=False) + '\\n')") ..
    " " .. quote(TMP .. "/redump.json") .. " 2>&1")
end

local function runs_of(json_text)
  local t = {}
  for a in json_text:gmatch('"mapRunArn": "([^"]+)"') do
    t[#t + 1] = a
  end
  return t
end

local function next_token_of(json_text)
  return json_text:match('\n    "NextToken": "([^"]+)"\n}\n$')
end

-- boto3 -----------------------------------------------------------------------

local BOTO3_SCRIPT = [[
import datetime, json, sys
import boto3
from botocore.config import Config

cfg = json.loads(sys.argv[1])
client = boto3.client("stepfunctions", endpoint_url=cfg["endpoint"], region_name="us-east-1",
                      config=Config(retries={"max_attempts": 1, "mode": "standard"}))
pc = {}
for ours, theirs in (("max_items", "MaxItems"), ("page_size", "PageSize"), ("starting_token", "StartingToken")):
    if cfg.get(ours) is not None:
        pc[theirs] = cfg[ours]
result = client.get_paginator("list_map_runs").paginate(
    executionArn=cfg["arn"], PaginationConfig=pc).build_full_result()

def iso(d):
    d = d.astimezone(datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % round(d.microsecond / 1000)

for run in result["mapRuns"]:
    for key in ("startDate", "stopDate"):
        if key in run:
            run[key] = iso(run[key])
sys.stdout.write(json.dumps(result, indent=4, ensure_ascii=False) + "\n")
]]

local boto3_missing -- nil: not asked yet; false: importable; string: why not
local function require_boto3()
  if boto3_missing == nil then
    local out = capture(quote(PYTHON) .. " -c 'import boto3, botocore; print(\"ok\")' 2>&1")
    if out:match("^ok") then
      boto3_missing = false
    else
      boto3_missing = "boto3 is not importable by python3: " .. out
    end
    write_file(TMP .. "/boto3_oracle.py", BOTO3_SCRIPT)
  end
  if boto3_missing then
    pending(boto3_missing)
    error("pending")
  end
end

-- What the AWS CLI's paginator prints for the same request (dates rendered
-- as sfn.iso8601 does), byte for byte.
local function boto3_listing(endpoint, execution_arn, pagination)
  require_boto3()
  pagination = pagination or {}
  local parts = { '"endpoint": ' .. cli.json_string(endpoint), '"arn": ' .. cli.json_string(execution_arn) }
  for _, k in ipairs { "max_items", "page_size" } do
    if pagination[k] then
      parts[#parts + 1] = ('"%s": %d'):format(k, pagination[k])
    end
  end
  if pagination.starting_token then
    parts[#parts + 1] = '"starting_token": ' .. cli.json_string(pagination.starting_token)
  end
  -- (no sanitizer runtime for python3)
  local env = env_for { LD_PRELOAD = false, ASAN_OPTIONS = false, UBSAN_OPTIONS = false, LSAN_OPTIONS = false }
  local cmd = env_command(env) .. " " .. quote(PYTHON) .. " " .. quote(TMP .. "/boto3_oracle.py") .. " "
    .. quote("{" .. table.concat(parts, ", ") .. "}") .. " 2>&1"
  return capture(cmd)
end

teardown(function()
  os.execute("rm -rf " .. quote(TMP))
end)

-- In-process: the argument parser -------------------------------------------

describe("sfn.cli.parse_args", function()
  local A = arn("runs-3")

  it("reads the ARN and every option, in either spelling", function()
    local cases = {
      { { A }, { execution_arn = A, output = "json" } },
      { { "--execution-arn", A }, { execution_arn = A, output = "json" } },
      { { A, "--max-items", "7", "--page-size", "3", "--starting-token", "tok==", "--output", "table",
          "--endpoint", "http://127.0.0.1:1", "--region", "eu-west-1", "--profile", "p" },
        { execution_arn = A, max_items = 7, page_size = 3, starting_token = "tok==", output = "table",
          endpoint = "http://127.0.0.1:1", region = "eu-west-1", profile = "p" } },
      { { "--max-items=7", "--output=table", "--starting-token=a=b==", A, "--endpoint-url=https://x" },
        { execution_arn = A, max_items = 7, output = "table", starting_token = "a=b==", endpoint = "https://x" } },
      { { "--region", "a", "--region", "b", A }, { execution_arn = A, region = "b", output = "json" } },
      { { "--page-size", "1000", "--", "-odd-arn" }, { execution_arn = "-odd-arn", page_size = 1000, output = "json" } },
    }
    for _, case in ipairs(cases) do
      local opts, err = cli.parse_args(case[1])
      assert.is_nil(err)
      assert.are.same(case[2], opts)
    end
  end)

  it("gives counts as numbers that are integers", function()
    local opts = cli.parse_args { A, "--max-items", "000250", "--page-size", "7" }
    assert.are.equal(250, opts.max_items)
    assert.are.equal(7, opts.page_size)
    assert.are.equal(250, math.floor(opts.max_items))
  end)

  it("answers --help and --version before anything else", function()
    assert.are.same({ help = true }, cli.parse_args { "--help" })
    assert.are.same({ help = true }, cli.parse_args { A, "-h", "--output", "yaml" })
    assert.are.same({ version = true }, cli.parse_args { "--version" })
  end)

  it("takes the interpreter's arg table, negative indices and all", function()
    local argv = { [-1] = "lua5.4", [0] = "bin/sfn-map-runs", A, "--max-items", "2" }
    assert.are.same({ execution_arn = A, max_items = 2, output = "json" }, cli.parse_args(argv))
  end)

  it("rejects what the command cannot run, naming the problem", function()
    local cases = {
      { {}, "missing EXECUTION_ARN" },
      { { "" }, "missing EXECUTION_ARN" },
      { { "--output", "table" }, "missing EXECUTION_ARN" },
      { { A, "other" }, "one EXECUTION_ARN" },
      { { A, "--execution-arn", A }, "one EXECUTION_ARN" },
      { { A, "--bogus" }, "unknown option '%-%-bogus'" },
      { { A, "-x" }, "unknown option '%-x'" },
      { { A, "--max-items" }, "%-%-max%-items wants a value" },
      { { A, "--region=" }, "%-%-region wants a non%-empty value" },
      { { A, "--starting-token", "" }, "wants a non%-empty value" },
      { { A, "--max-items", "ten" }, "%-%-max%-items wants a positive integer, got 'ten'" },
      { { A, "--max-items", "0" }, "positive integer" },
      { { A, "--max-items", "-3" }, "positive integer" },
      { { A, "--max-items", "1.5" }, "positive integer" },
      { { A, "--max-items", "1e3" }, "positive integer" },
      { { A, "--max-items", " 5" }, "positive integer" },
      { { A, "--max-items", "1234567890123456" }, "positive integer" },
      { { A, "--page-size", "1001" }, "%-%-page%-size must be at most 1000" },
      { { A, "--page-size", "0" }, "positive integer" },
      { { A, "--output", "yaml" }, "%-%-output wants json or table, got 'yaml'" },
      { { A, "--output", "JSON" }, "%-%-output wants json or table" },
      { { A, "--output=text" }, "%-%-output wants json or table" },
    }
    for _, case in ipairs(cases) do
      local opts, err = cli.parse_args(case[1])
      assert.is_nil(opts, table.concat(case[1], " "))
      assert.is_string(err)
      assert.truthy(err:find(case[2]), ("%q does not match %q"):format(err, case[2]))
    end
  end)
end)

-- In-process: the JSON writer -------------------------------------------------

describe("sfn.cli.json_string", function()
  it("escapes as Python's json.dumps(ensure_ascii=False) does", function()
    local cases = {
      { "", '""' },
      { "plain arn:aws:states", '"plain arn:aws:states"' },
      { 'say "hi"', '"say \\"hi\\""' },
      { "back\\slash", '"back\\\\slash"' },
      { "a\nb\rc\td", '"a\\nb\\rc\\td"' },
      { "\b\f", '"\\b\\f"' },
      { "nul\0byte", '"nul\\u0000byte"' },
      { "\1\31", '"\\u0001\\u001f"' },
      { "\27[31m", '"\\u001b[31m"' },
      { "del\127", '"del\127"' },
      { "/slash/", '"/slash/"' },
      { "caf\195\169 \226\130\172 \240\159\152\128", '"caf\195\169 \226\130\172 \240\159\152\128"' },
      { "\226\128\168", '"\226\128\168"' }, -- U+2028 passes, as in Python
    }
    for _, case in ipairs(cases) do
      assert.are.equal(case[2], cli.json_string(case[1]))
    end
  end)

  it("replaces bytes that are not UTF-8 with U+FFFD, so the output stays valid JSON", function()
    local R = "\239\191\189"
    local cases = {
      { "\255", R },
      { "a\128b", "a" .. R .. "b" },
      { "\192\175", R .. R },                   -- overlong '/'
      { "\224\128\175", R .. R .. R },          -- overlong, 3 bytes
      { "\237\160\128", R .. R .. R },          -- a UTF-16 surrogate
      { "\244\144\128\128", R .. R .. R .. R }, -- above U+10FFFF
      { "\226\130", R .. R },                   -- cut short
      { "\226\130\172\226", "\226\130\172" .. R },
      { "\244\143\191\191", "\244\143\191\191" }, -- U+10FFFF itself is fine
    }
    for _, case in ipairs(cases) do
      assert.are.equal('"' .. case[2] .. '"', cli.json_string(case[1]))
    end
  end)

  it("agrees with python3's json module byte for byte", function()
    local samples = { 'q"b\\s', "ctl\0\1\8\9\10\11\12\13\27\31", "del\127", "\195\169\226\130\172\240\159\152\128",
      "\226\128\168\226\128\169", "tab\tnew\nline" }
    local ours = {}
    for i, s in ipairs(samples) do
      ours[i] = cli.json_string(s)
    end
    local hex = {}
    for i, s in ipairs(samples) do
      hex[i] = s:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
    end
    local out = capture(quote(PYTHON) .. " -c " .. quote(
      "import json,sys\nfor h in sys.argv[1:]: print(json.dumps(bytes.fromhex(h).decode('utf-8'), ensure_ascii=False))")
      .. " " .. table.concat(hex, " ") .. " 2>&1")
    assert.are.equal(table.concat(ours, "\n") .. "\n", out)
  end)
end)

describe("sfn.cli.map_run_json", function()
  local map_run = {
    executionArn = arn("x"),
    mapRunArn = "arn:aws:states:us-east-1:123456789012:mapRun:flow/x:1",
    stateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:flow/x",
    startDate = 1700000000.125,
    stopDate = 1700000030.625,
    somethingNew = "dropped, as boto3 drops members it does not model",
  }

  it("writes the members in the service model's order with ISO 8601 dates", function()
    assert.are.equal(table.concat({
      "        {",
      '            "executionArn": "' .. arn("x") .. '",',
      '            "mapRunArn": "arn:aws:states:us-east-1:123456789012:mapRun:flow/x:1",',
      '            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:flow/x",',
      '            "startDate": "2023-11-14T22:13:20.125Z",',
      '            "stopDate": "2023-11-14T22:13:50.625Z"',
      "        }" }, "\n"), cli.map_run_json(map_run, 2))
  end)

  it("leaves stopDate out while the Map Run is running", function()
    local running = { executionArn = "e", mapRunArn = "m", stateMachineArn = "s", startDate = 0 }
    assert.are.equal('{\n    "executionArn": "e",\n    "mapRunArn": "m",\n    "stateMachineArn": "s",\n'
      .. '    "startDate": "1970-01-01T00:00:00.000Z"\n}', cli.map_run_json(running))
    assert.are.equal(sfn.iso8601(1700000000.125), "2023-11-14T22:13:20.125Z")
  end)

  it("writes an empty object for an empty Map Run", function()
    assert.are.equal("    {}", cli.map_run_json({}, 1))
  end)
end)

-- In-process: the whole command with fake clients ------------------------------

-- A writable stand-in for io.stdout / io.stderr.
local function sink(fail_after, errno, message)
  local s = { parts = {}, writes = 0, newlines = 0 }
  function s:write(...)
    if fail_after and self.writes >= fail_after then
      return nil, message or "Broken pipe", errno or 32
    end
    self.writes = self.writes + 1
    for i = 1, select("#", ...) do
      local piece = tostring((select(i, ...)))
      self.parts[#self.parts + 1] = piece
      local _, newlines = piece:gsub("\n", "")
      self.newlines = self.newlines + newlines
    end
    return self
  end
  function s:flush()
    if fail_after and self.writes >= fail_after then
      return nil, message or "Broken pipe", errno or 32
    end
    return self
  end
  function s:text()
    return table.concat(self.parts)
  end
  return s
end

local function fake_run(i)
  return {
    executionArn = arn("fake"),
    mapRunArn = "arn:aws:states:us-east-1:123456789012:mapRun:flow/fake:" .. i,
    stateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:flow/fake",
    startDate = 1700000000 + i,
    stopDate = i % 10 ~= 9 and (1700000030 + i) or nil,
  }
end

-- new_client replacement: `n` Map Runs, then `fail` (an sfn.Error) if given;
-- `on_item(i)` runs before item i is handed out.
local function fake_client(n, opts)
  opts = opts or {}
  return function(client_opts)
    opts.client_opts = client_opts
    return {
      map_runs = function(_, params, pagination)
        opts.params, opts.pagination = params, pagination
        local state = { i = 0, resume_token = opts.resume_token }
        return function(st)
          if st.i >= n then
            if opts.fail then
              error(opts.fail, 0)
            end
            return nil
          end
          st.i = st.i + 1
          if opts.on_item then
            opts.on_item(st.i)
          end
          return fake_run(st.i - 1)
        end, state
      end,
    }
  end
end

local function service_error(code, message)
  return setmetatable({ code = code, message = message, status = 400, request_id = "req-1",
    retryable = false, attempts = 1, operation = "ListMapRuns" }, sfn.Error)
end

describe("sfn.cli.run", function()
  it("passes the options to sfn.new and the pagination to map_runs", function()
    local seen = {}
    local out, err = sink(), sink()
    local status = cli.run({ arn("fake"), "--max-items", "5", "--page-size", "2", "--starting-token", "T",
      "--endpoint", "http://127.0.0.1:1", "--region", "eu-west-1", "--profile", "p" },
      { stdout = out, stderr = err, new_client = fake_client(0, seen) })
    assert.are.equal(0, status)
    assert.are.equal(cli.prompt_mfa, seen.client_opts.mfa_code) -- the CLI prompts for MFA codes
    seen.client_opts.mfa_code = nil
    assert.are.same({ endpoint = "http://127.0.0.1:1", region = "eu-west-1", profile = "p" }, seen.client_opts)
    assert.are.same({ executionArn = arn("fake") }, seen.params)
    assert.are.same({ max_items = 5, page_size = 2, starting_token = "T" }, seen.pagination)
    assert.are.equal('{\n    "mapRuns": []\n}\n', out:text())
    assert.are.equal("", err:text())
  end)

  it("leaves unset options to the library (environment, profile, defaults)", function()
    local seen = {}
    cli.run({ arn("fake") }, { stdout = sink(), stderr = sink(), new_client = fake_client(0, seen) })
    assert.are.same({ mfa_code = cli.prompt_mfa }, seen.client_opts)
    assert.are.same({}, seen.pagination)
  end)

  it("writes the AWS CLI's document, NextToken last", function()
    local out = sink()
    assert.are.equal(0, cli.run({ arn("fake") },
      { stdout = out, stderr = sink(), new_client = fake_client(2, { resume_token = "tok+/=" }) }))
    assert.are.equal('{\n    "mapRuns": [\n' .. cli.map_run_json(fake_run(0), 2) .. ",\n"
      .. cli.map_run_json(fake_run(1), 2) .. '\n    ],\n    "NextToken": "tok+/="\n}\n', out:text())
  end)

  it("streams: each Map Run is written before the next is fetched", function()
    local out = sink()
    local n = 2500
    local function check(i)
      if i > 1 then
        -- the previous Map Run (0-based i-2) is the last thing written
        assert(out.parts[#out.parts] == cli.map_run_json(fake_run(i - 2), 2), "not streamed at " .. i)
      end
    end
    assert.are.equal(0, cli.run({ arn("fake") }, { stdout = out, stderr = sink(),
      new_client = fake_client(n, { on_item = check }) }))
    assert.are.equal(n, #runs_of(out:text()))
  end)

  it("streams tables too, after sizing the columns on the first rows", function()
    local out = sink()
    local max_buffered = 0
    local function check(i)
      local rows = out.newlines -- header and rows written so far
      max_buffered = math.max(max_buffered, (i - 1) - math.max(rows - 1, 0))
    end
    assert.are.equal(0, cli.run({ arn("fake"), "--output", "table" }, { stdout = out, stderr = sink(),
      new_client = fake_client(3000, { on_item = check }) }))
    assert.are.equal(3001, #lines(out:text()))
    assert.truthy(max_buffered <= 1000, "buffered " .. max_buffered .. " rows")
  end)

  it("writes nothing on stdout when the first request fails, and one line on stderr", function()
    local out, err = sink(), sink()
    local status = cli.run({ arn("fake") }, { stdout = out, stderr = err,
      new_client = fake_client(0, { fail = service_error("ExecutionDoesNotExist", "Execution Does Not Exist: 'x'") }) })
    assert.are.equal(1, status)
    assert.are.equal("", out:text())
    assert.are.equal("sfn-map-runs: ListMapRuns: ExecutionDoesNotExist (HTTP 400, request req-1): "
      .. "Execution Does Not Exist: 'x'\n", err:text())
  end)

  it("reports a failure after some pages on one line, after what was printed", function()
    local out, err = sink(), sink()
    local status = cli.run({ arn("fake") }, { stdout = out, stderr = err,
      new_client = fake_client(3, { fail = service_error("ThrottlingException", "Rate exceeded\nagain ") }) })
    assert.are.equal(1, status)
    assert.are.equal(3, #runs_of(out:text()))
    assert.are.equal(1, #lines(err:text()))
    assert.truthy(err:text():find("^sfn%-map%-runs: ListMapRuns: ThrottlingException .*Rate exceeded again\n$"))
  end)

  it("reports a sfn.new failure (no region, bad endpoint) on one line", function()
    local err = sink()
    local status = cli.run({ arn("fake"), "--region", "us-east-1", "--endpoint", "ftp://example.com" }, { stdout = sink(), stderr = err })
    assert.are.equal(1, status)
    assert.truthy(err:text():find("^sfn%-map%-runs: .*ConfigError.*ftp.*\n$"))
    assert.are.equal(1, #lines(err:text()))
  end)

  it("is silent when the reader went away (EPIPE), and says so for other write errors", function()
    local err = sink()
    assert.are.equal(1, cli.run({ arn("fake") }, { stdout = sink(3), stderr = err, new_client = fake_client(10) }))
    assert.are.equal("", err:text())
    err = sink()
    assert.are.equal(1, cli.run({ arn("fake") },
      { stdout = sink(3, 28, "No space left on device"), stderr = err, new_client = fake_client(10) }))
    assert.are.equal("sfn-map-runs: cannot write the output: No space left on device\n", err:text())
    err = sink()
    assert.are.equal(1, cli.run({ "--help" }, { stdout = sink(0, 9, "Bad file descriptor"), stderr = err }))
    assert.are.equal("sfn-map-runs: cannot write the output: Bad file descriptor\n", err:text())
  end)

  it("reports usage errors with the usage line and status 2", function()
    local out, err = sink(), sink()
    assert.are.equal(2, cli.run({ "--max-items", "x" }, { stdout = out, stderr = err, new_client = fake_client(1) }))
    assert.are.equal("", out:text())
    assert.are.equal("sfn-map-runs: --max-items wants a positive integer, got 'x'\n" .. cli.USAGE .. "\n", err:text())
  end)

  it("prints help and version on stdout", function()
    local out = sink()
    assert.are.equal(0, cli.run({ "--help" }, { stdout = out, stderr = sink() }))
    assert.are.equal(cli.HELP, out:text())
    assert.truthy(out:text():find(cli.USAGE, 1, true))
    out = sink()
    assert.are.equal(0, cli.run({ "--version" }, { stdout = out, stderr = sink() }))
    assert.truthy(out:text():find("^sfn%-map%-runs " .. sfn._VERSION:gsub("%.", "%%.") .. " %("))
  end)

  it("makes table rows with RUNNING for a running Map Run", function()
    assert.are.same({ fake_run(9).mapRunArn, fake_run(9).stateMachineArn, sfn.iso8601(1700000009), "RUNNING" },
      cli.table_row(fake_run(9)))
    assert.are.same({ "a?b", "-", "-", "RUNNING" }, cli.table_row { mapRunArn = "a\27b" })
  end)

  it("carries the package version and creates no globals", function()
    assert.are.equal(sfn._VERSION, cli._VERSION)
    local before = {}
    for k in pairs(_G) do
      before[k] = true
    end
    package.loaded["sfn.cli"] = nil
    local again = require "sfn.cli"
    package.loaded["sfn.cli"] = cli
    assert.is_table(again)
    for k in pairs(_G) do
      assert.is_true(before[k] ~= nil, "new global: " .. tostring(k))
    end
  end)
end)

-- The command, as a subprocess against the stand-in ----------------------------

describe("bin/sfn-map-runs", function()
  local server

  setup(function()
    os.execute("mkdir -p " .. quote(TMP .. "/home"))
    server = standin.start {
      credentials = { KEY .. ":" .. SECRET, TOKEN_KEY .. ":" .. TOKEN_SECRET .. ":" .. TOKEN },
    }
  end)

  teardown(function()
    if server then
      server:stop()
    end
  end)

  local function list(name, extra, opts)
    local args = { arn(name), "--endpoint", server.url }
    for _, a in ipairs(extra or {}) do
      args[#args + 1] = a
    end
    return run(args, opts)
  end

  it("lists every Map Run, in order, as valid JSON", function()
    local r = list("runs-250")
    assert.are.equal("", r.stderr)
    assert.are.equal(0, r.status)
    assert.are.equal(r.stdout, python_redump(r.stdout)) -- valid JSON, in the AWS CLI's layout
    local runs = runs_of(r.stdout)
    assert.are.equal(250, #runs)
    local seen = {}
    for _, m in ipairs(runs) do
      assert.is_nil(seen[m])
      seen[m] = true
    end
    local starts = {}
    for d in r.stdout:gmatch('"startDate": "([^"]+)"') do
      starts[#starts + 1] = d
    end
    assert.are.equal(250, #starts)
    for i = 1, 250 do
      assert.are.equal(sfn.iso8601(1700000000 + 60 * (i - 1) + 0.125), starts[i])
    end
    local _, stops = r.stdout:gsub('"stopDate": ', "")
    assert.are.equal(225, stops) -- every 10th is running
    assert.is_nil(r.stdout:find("NextToken", 1, true))
  end)

  it("prints what boto3's paginator returns, byte for byte", function()
    local r = list("runs-250")
    assert.are.equal(0, r.status)
    assert.are.equal(boto3_listing(server.url, arn("runs-250")), r.stdout)
  end)

  it("prints an empty list for an execution without Map Runs", function()
    local r = list("none")
    assert.are.equal(0, r.status)
    assert.are.equal('{\n    "mapRuns": []\n}\n', r.stdout)
    assert.are.equal("", r.stderr)
  end)

  it("asks for --page-size items per request and prints the same listing", function()
    local full = list("runs-250").stdout
    server:reset()
    local r = list("runs-250", { "--page-size", "7" })
    assert.are.equal(0, r.status)
    assert.are.equal(full, r.stdout)
    local stats = server:stats()
    assert.are.equal(36, stats.requests) -- ceil(250 / 7)
    assert.truthy(stats.last_request.body:find('"maxResults":%s*7'))
  end)

  it("stops at --max-items with a NextToken that resumes exactly after it", function()
    local full = runs_of(list("runs-250").stdout)
    local first = list("runs-250", { "--max-items", "95", "--page-size", "40" })
    assert.are.equal(0, first.status)
    assert.are.equal(first.stdout, python_redump(first.stdout))
    local token = next_token_of(first.stdout)
    assert.is_string(token)
    local rest = list("runs-250", { "--starting-token", token, "--page-size", "40" })
    assert.are.equal(0, rest.status)
    assert.is_nil(next_token_of(rest.stdout))
    local a, b = runs_of(first.stdout), runs_of(rest.stdout)
    assert.are.equal(95, #a)
    assert.are.equal(155, #b)
    local joined = {}
    for _, m in ipairs(a) do joined[#joined + 1] = m end
    for _, m in ipairs(b) do joined[#joined + 1] = m end
    assert.are.same(full, joined) -- no overlap, no gap
  end)

  it("walks a listing in --max-items steps, ending without a NextToken", function()
    local full = runs_of(list("runs-250").stdout)
    local joined, token, steps = {}, nil, 0
    repeat
      local args = { "--max-items", "60" }
      if token then
        args[#args + 1] = "--starting-token"
        args[#args + 1] = token
      end
      local r = list("runs-250", args)
      assert.are.equal(0, r.status)
      for _, m in ipairs(runs_of(r.stdout)) do
        joined[#joined + 1] = m
      end
      token = next_token_of(r.stdout)
      steps = steps + 1
    until not token or steps > 10
    assert.are.equal(5, steps)
    assert.are.same(full, joined)
  end)

  it("prints no NextToken when --max-items reaches the end exactly or beyond", function()
    for _, n in ipairs { "250", "251", "100000" } do
      local r = list("runs-250", { "--max-items", n, "--page-size", "50" })
      assert.are.equal(0, r.status)
      assert.are.equal(250, #runs_of(r.stdout))
      assert.is_nil(r.stdout:find("NextToken", 1, true))
    end
  end)

  it("matches boto3 with --max-items, and their NextTokens work in both directions", function()
    local r = list("runs-250", { "--max-items", "95", "--page-size", "40" })
    local theirs = boto3_listing(server.url, arn("runs-250"), { max_items = 95, page_size = 40 })
    assert.are.equal(theirs, r.stdout) -- the token too
    local token = next_token_of(r.stdout)
    -- our token, continued by boto3; boto3's token (the same) continued by us
    local rest_boto3 = boto3_listing(server.url, arn("runs-250"), { starting_token = token, page_size = 40 })
    local rest_ours = list("runs-250", { "--starting-token", token, "--page-size", "40" })
    assert.are.equal(rest_boto3, rest_ours.stdout)
    -- a token boto3 made on a first page (nextToken null inside)
    local b = boto3_listing(server.url, arn("runs-250"), { max_items = 3, page_size = 40 })
    local btoken = next_token_of(b)
    assert.is_string(btoken)
    local after = list("runs-250", { "--starting-token", btoken, "--max-items", "2" })
    assert.are.equal(0, after.status)
    assert.are.equal(boto3_listing(server.url, arn("runs-250"), { starting_token = btoken, max_items = 2 }),
      after.stdout)
  end)

  it("prints an aligned table with RUNNING and the NextToken", function()
    local r = list("runs-250", { "--output", "table", "--max-items", "30" })
    assert.are.equal(0, r.status)
    assert.are.equal("", r.stderr)
    local t = lines(r.stdout)
    assert.are.equal(32, #t) -- header, 30 rows, NextToken
    local header = t[1]
    local c2, c3, c4 = header:find("STATE MACHINE ARN", 1, true), header:find("START", 1, true), header:find("STOP", 1, true)
    assert.are.equal(1, header:find("MAP RUN ARN", 1, true))
    local running = 0
    for i = 2, 31 do
      local row = t[i]
      assert.truthy(row:find("^arn:aws:states:us%-east%-1:123456789012:mapRun:flow/runs%-250:"))
      assert.are.equal("  arn:aws:states:", row:sub(c2 - 2, c2 + 14))
      assert.truthy(row:sub(c3 - 2, c3 + 23):find("^  %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"))
      local stop = row:sub(c4 - 2)
      if stop == "  RUNNING" then
        running = running + 1
      else
        assert.truthy(stop:find("^  %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"), stop)
      end
    end
    assert.are.equal(3, running)
    local token = t[32]:match("^NextToken: (%S+)$")
    assert.is_string(token)
    -- the table's token is the JSON's token
    assert.are.equal(token, next_token_of(list("runs-250", { "--max-items", "30" }).stdout))
    local rest = list("runs-250", { "--output", "table", "--starting-token", token })
    assert.are.equal(1 + 220, #lines(rest.stdout))
  end)

  it("prints only the header for an empty table", function()
    local r = list("none", { "--output", "table" })
    assert.are.equal(0, r.status)
    assert.are.equal(1, #lines(r.stdout))
    assert.truthy(r.stdout:find("^MAP RUN ARN%s+STATE MACHINE ARN%s+START%s+STOP\n$"))
  end)

  it("exits 2 with the usage line on usage errors, before any request", function()
    server:reset()
    local cases = {
      {},
      { "--endpoint", server.url },
      { arn("runs-3"), "--bogus" },
      { arn("runs-3"), "--max-items", "many" },
      { arn("runs-3"), "--page-size", "0" },
      { arn("runs-3"), "--output", "yaml" },
      { arn("runs-3"), "--starting-token" },
      { arn("runs-3"), arn("runs-4") },
    }
    for _, args in ipairs(cases) do
      local r = run(args)
      assert.are.equal(2, r.status, table.concat(args, " "))
      assert.are.equal("", r.stdout)
      local t = lines(r.stderr)
      assert.are.equal(2, #t, r.stderr)
      assert.truthy(t[1]:find("^sfn%-map%-runs: "))
      assert.are.equal(cli.USAGE, t[2])
    end
    assert.are.equal(0, server:stats().requests)
  end)

  it("exits 1 with one line on stderr when the service says no", function()
    local r = list("missing")
    assert.are.equal(1, r.status)
    assert.are.equal("", r.stdout)
    assert.are.equal(1, #lines(r.stderr))
    assert.truthy(r.stderr:find("^sfn%-map%-runs: ListMapRuns: ExecutionDoesNotExist %(HTTP 400, request [%w%-]+%): "
      .. "Execution Does Not Exist: '" .. arn("missing"):gsub("%p", "%%%0") .. "'\n$"), r.stderr)
  end)

  it("exits 1 with one line for other failures, and never prints a secret", function()
    local cases = {
      { { arn("access-denied"), "--endpoint", server.url }, "AccessDeniedException" },
      { { arn("error-503-html"), "--endpoint", server.url }, "HTTP 503" },
      { { arn("runs-3"), "--endpoint", server.url, "--starting-token", "bm90IGEgdG9rZW4=" }, "[Tt]oken" },
      { { arn("runs-3"), "--endpoint", "http://127.0.0.1:9" }, "TransportError" },
      { { arn("runs-3"), "--endpoint", "ftp://127.0.0.1" }, "ConfigError" },
      { { arn("runs-3"), "--endpoint", server.url, "--profile", "nosuch" }, "ConfigError" },
    }
    for _, case in ipairs(cases) do
      local r = run(case[1], { env = { AWS_MAX_ATTEMPTS = "1" } })
      assert.are.equal(1, r.status, r.stderr)
      assert.are.equal("", r.stdout)
      assert.are.equal(1, #lines(r.stderr), r.stderr)
      assert.truthy(r.stderr:find("^sfn%-map%-runs: "))
      assert.truthy(r.stderr:find(case[2]), r.stderr)
    end
    -- wrong secret, and a session token: rejected, and neither shows up (run() checks every output)
    local r = list("runs-3", nil, { env = { AWS_SECRET_ACCESS_KEY = TOKEN_SECRET, AWS_MAX_ATTEMPTS = "1" } })
    assert.are.equal(1, r.status)
    assert.truthy(r.stderr:find("InvalidSignatureException", 1, true), r.stderr)
    r = list("missing", nil, { env = { AWS_ACCESS_KEY_ID = TOKEN_KEY, AWS_SECRET_ACCESS_KEY = TOKEN_SECRET,
      AWS_SESSION_TOKEN = TOKEN } })
    assert.are.equal(1, r.status)
    assert.truthy(r.stderr:find("ExecutionDoesNotExist", 1, true), r.stderr)
    r = list("runs-3", nil, { env = { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false } })
    assert.are.equal(1, r.status)
    assert.truthy(r.stderr:find("^sfn%-map%-runs: .*CredentialsError"), r.stderr)
  end)

  it("works with a session token", function()
    local r = list("runs-3", nil, { env = { AWS_ACCESS_KEY_ID = TOKEN_KEY, AWS_SECRET_ACCESS_KEY = TOKEN_SECRET,
      AWS_SESSION_TOKEN = TOKEN } })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(3, #runs_of(r.stdout))
  end)

  it("lets options override the environment, and falls back to it", function()
    -- --region over AWS_REGION (the stand-in only accepts us-east-1)
    local r = list("runs-3", { "--region", "us-east-1" }, { env = { AWS_REGION = "eu-west-1" } })
    assert.are.equal(0, r.status, r.stderr)
    r = list("runs-3", nil, { env = { AWS_REGION = "eu-west-1", AWS_MAX_ATTEMPTS = "1" } })
    assert.are.equal(1, r.status)
    -- --endpoint over AWS_ENDPOINT_URL_SFN, and AWS_ENDPOINT_URL_SFN alone
    r = list("runs-3", nil, { env = { AWS_ENDPOINT_URL_SFN = "http://127.0.0.1:9" } })
    assert.are.equal(0, r.status, r.stderr)
    r = run({ arn("runs-3") }, { env = { AWS_ENDPOINT_URL_SFN = server.url } })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(3, #runs_of(r.stdout))
  end)

  it("reads region and keys from --profile", function()
    write_file(TMP .. "/home/config", "[profile cli]\nregion = us-east-1\n[default]\nregion = eu-west-1\n")
    write_file(TMP .. "/home/credentials", "[cli]\naws_access_key_id = " .. KEY .. "\naws_secret_access_key = "
      .. SECRET .. "\n")
    local env = { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false, AWS_REGION = false }
    local ok, r = pcall(list, "runs-3", { "--profile", "cli" }, { env = env })
    local r2 = ok and list("runs-3", nil, { env = { AWS_ACCESS_KEY_ID = false, AWS_SECRET_ACCESS_KEY = false,
      AWS_REGION = false, AWS_PROFILE = "cli" } })
    os.remove(TMP .. "/home/config")
    os.remove(TMP .. "/home/credentials")
    assert(ok, r)
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(3, #runs_of(r.stdout))
    assert.are.equal(0, r2.status, r2.stderr)
  end)

  it("prints help and version", function()
    local r = run { "--help" }
    assert.are.equal(0, r.status)
    assert.are.equal(cli.HELP, r.stdout)
    r = run { "--version" }
    assert.are.equal(0, r.status)
    assert.truthy(r.stdout:find("^sfn%-map%-runs " .. sfn._VERSION:gsub("%.", "%%.") .. " "))
  end)

  it("says how to fix it when sfn cannot be loaded", function()
    local r = run({ "--version" }, { env = { LUA_PATH = "/nonexistent/?.lua", LUA_CPATH = "/nonexistent/?.so" } })
    assert.are.equal(1, r.status)
    assert.are.equal("", r.stdout)
    assert.truthy(r.stderr:find("^sfn%-map%-runs: cannot load the sfn module"))
    assert.is_nil(r.stderr:find("traceback", 1, true))
  end)

  it("stops quietly when the reader closes the pipe", function()
    local function piped(ignore_sigpipe)
      return function(line, _, err)
        return "(" .. (ignore_sigpipe and "trap '' PIPE; " or "") .. line .. " 2>" .. quote(err)
          .. "; echo $? >" .. quote(err .. ".status") .. ") | head -c 100 >/dev/null; cat " .. quote(err .. ".status")
      end
    end
    -- SIGPIPE as usual: the process ends on the signal, without a word
    local r = run({ arn("runs-3000"), "--endpoint", server.url }, { wrap = piped(false) })
    assert.are.equal("", r.stderr)
    assert.truthy(r.status == 141 or r.status == 1, tostring(r.status))
    -- SIGPIPE ignored (inherited): the write fails with EPIPE, exit 1, no traceback
    r = run({ arn("runs-3000"), "--endpoint", server.url }, { wrap = piped(true) })
    assert.are.equal("", r.stderr)
    assert.are.equal(1, r.status)
    r = run({ arn("runs-3000"), "--endpoint", server.url, "--output", "table" }, { wrap = piped(true) })
    assert.are.equal("", r.stderr)
    assert.are.equal(1, r.status)
  end)

  it("reports an unwritable stdout on one line", function()
    local r = run({ arn("runs-3"), "--endpoint", server.url }, { wrap = function(line, _, err)
      return line .. " >/dev/full 2>" .. quote(err) .. "; echo $?"
    end })
    assert.are.equal(1, r.status)
    assert.are.equal("sfn-map-runs: cannot write the output: No space left on device\n", r.stderr)
  end)
end)

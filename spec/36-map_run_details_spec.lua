-- After the list (issue 12): DescribeMapRun, ListExecutions (a Map Run's
-- child executions) with their page and item iterators and boto3-compatible
-- resume tokens, and client:map_run_descriptions — every field, error and
-- validation rule, against the stand-in (spec/standin), through libcurl and
-- through a function transport (the Lua driver), with boto3's paginator as
-- the oracle for ListExecutions tokens.
local sfn = require "sfn"
local safe = require "sfn.safe"
local core = require "sfn.core"
local curl = require "sfn.curl"
local standin = require "standin"
local support = require "support"

local math_type = math.type or function(x)
  return type(x) == "number" and (x == math.floor(x) and "integer" or "float") or nil
end

local COUNT_KEYS = { "pending", "running", "succeeded", "failed", "timedOut", "aborted", "total",
  "resultsWritten", "failuresNotRedrivable", "pendingRedrive" }

local function raises(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error")
  assert(sfn.is_error(err), "expected an sfn.Error, got " .. tostring(err))
  return err
end

local function function_transport(request)
  return curl.http_request {
    method = request.method, url = request.url, headers = request.headers, body = request.body,
    timeout = request.timeout, connect_timeout = request.connect_timeout, ca_file = request.ca_file,
  }
end

local server
setup(function()
  server = standin.start()
end)
teardown(function()
  if server then
    server:stop()
  end
end)

local function new_client(opts)
  local cfg = server:client_config(opts or { max_attempts = 1 })
  return sfn.new(cfg)
end

-- Both drivers: libcurl (the C loop) and the Lua driver (a function transport).
local TRANSPORTS = {
  curl = function(opts)
    opts = opts or { max_attempts = 1 }
    opts.transport = "curl"
    return new_client(opts)
  end,
  ["function"] = function(opts)
    opts = opts or { max_attempts = 1 }
    opts.transport = function_transport
    return new_client(opts)
  end,
}

local function map_runs_of(c, name)
  local runs = c:all_map_runs { executionArn = server:arn(name) }
  return runs
end

-- ------------------------------------------------------------ validation

describe("validation before any I/O", function()
  local calls
  local function counting_client()
    calls = 0
    local cfg = server:client_config { max_attempts = 1 }
    local creds = cfg.credentials
    cfg.credentials = function()
      calls = calls + 1
      return creds
    end
    return sfn.new(cfg)
  end
  local MR = "arn:aws:states:us-east-1:123456789012:mapRun:flow/runs-3:00000000-0000-4000-8000-000000000000"
  local SM = "arn:aws:states:us-east-1:123456789012:stateMachine:flow"

  local CASES = {
    { "describe_map_run", nil, "params: expected a table" },
    { "describe_map_run", {}, "mapRunArn: required" },
    { "describe_map_run", { mapRunArn = "" }, "mapRunArn: length must be 1..2000 characters, got 0" },
    { "describe_map_run", { mapRunArn = ("a"):rep(2001) }, "length must be 1..2000 characters, got 2001" },
    { "describe_map_run", { mapRunArn = 5 }, "mapRunArn: expected a string, got number" },
    { "describe_map_run", { mapRunArn = "a\0b" }, "NUL" },
    { "describe_map_run", { mapRunArn = "\255" }, "not valid UTF-8" },
    { "describe_map_run", { mapRunArn = MR, executionArn = "x" }, "unknown parameter 'executionArn' (expected mapRunArn)" },
    { "list_executions", {}, "stateMachineArn or mapRunArn is required" },
    { "list_executions", { mapRunArn = MR, stateMachineArn = SM }, "cannot be given together" },
    { "list_executions", { stateMachineArn = SM, redriveFilter = "REDRIVEN" }, "redriveFilter: only with mapRunArn" },
    { "list_executions", { mapRunArn = MR, redriveFilter = "SOMETIMES" }, "redriveFilter: must be one of REDRIVEN, NOT_REDRIVEN" },
    { "list_executions", { mapRunArn = MR, statusFilter = "DONE" },
      "statusFilter: must be one of RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE" },
    { "list_executions", { mapRunArn = MR, statusFilter = 1 }, "statusFilter: expected one of" },
    { "list_executions", { mapRunArn = MR, maxResults = 1001 }, "maxResults: must be an integer in 0..1000" },
    { "list_executions", { mapRunArn = MR, maxResults = -1 }, "maxResults: must be an integer in 0..1000" },
    { "list_executions", { mapRunArn = MR, maxResults = 1.5 }, "maxResults: must be an integer in 0..1000" },
    { "list_executions", { mapRunArn = MR, maxResults = 0 / 0 }, "maxResults: must be an integer" },
    { "list_executions", { mapRunArn = MR, maxResults = "5" }, "maxResults: expected an integer, got string" },
    { "list_executions", { mapRunArn = MR, nextToken = ("t"):rep(3097) }, "nextToken: length must be 1..3096" },
    { "list_executions", { mapRunArn = MR, nextToken = "" }, "nextToken: length must be 1..3096" },
    { "list_executions", { stateMachineArn = ("s"):rep(257) }, "stateMachineArn: length must be 1..256" },
    { "list_executions", { mapRunArn = ("m"):rep(2001) }, "mapRunArn: length must be 1..2000" },
    { "list_executions", { mapRunArn = MR, executionArn = "x" }, "unknown parameter 'executionArn'" },
    { "list_executions", { mapRunArn = MR, [1] = "x" }, "unknown parameter '1'" },
    { "list_executions_pages", {}, "stateMachineArn or mapRunArn is required" },
    { "executions", { mapRunArn = MR, maxResults = 2000 }, "maxResults: must be an integer in 0..1000" },
    { "executions", { mapRunArn = MR, nextToken = "a" }, "starting_token: cannot be combined with params.nextToken",
      { starting_token = "abc" } },
    { "executions", { mapRunArn = MR }, "pagination.page_size", { page_size = 0 } },
  }

  for transport in pairs(TRANSPORTS) do
    it("raises ValidationError naming the operation, before credentials (" .. transport .. ")", function()
      for _, case in ipairs(CASES) do
        local c = counting_client()
        if transport == "function" then
          c:_lua_driver().choice = function_transport
        end
        local method, params, fragment, pagination = case[1], case[2], case[3], case[4] -- (a nil hole: no unpack)
        local err = raises(c[method], c, params, pagination)
        assert.are.equal("ValidationError", err.code, fragment)
        assert.is_truthy(err.message:find(fragment, 1, true), err.message .. " / " .. fragment)
        local op = method == "describe_map_run" and "DescribeMapRun" or "ListExecutions"
        assert.are.equal(op, err.operation, fragment)
        assert.are.equal(0, calls, fragment)
      end
    end)
  end

  it("accepts the longest values the model allows", function()
    local c = counting_client()
    -- a 3,096-character nextToken goes out (the stand-in refuses it as a token)
    local err = raises(c.list_executions, c, { mapRunArn = MR, nextToken = ("\226\130\172"):rep(3096) })
    assert.are.equal("ResourceNotFound", err.code) -- sent: the stand-in looked the Map Run up
    assert.are.equal(1, calls)
    err = raises(c.describe_map_run, c, { mapRunArn = ("a"):rep(2000) })
    assert.are.equal("InvalidArn", err.code)
    assert.are.equal("DescribeMapRun", err.operation)
  end)

  it("checks self", function()
    for _, name in ipairs { "describe_map_run", "list_executions", "executions", "list_executions_pages" } do
      local err = raises(sfn._Client[name], {}, {})
      assert.are.equal("ValidationError", err.code)
      assert.matches("expected an sfn client", err.message)
    end
  end)
end)

-- ------------------------------------------------------------ DescribeMapRun

for transport, make in pairs(TRANSPORTS) do
  describe("describe_map_run (" .. transport .. ")", function()
    it("returns every field, consistent with ListMapRuns", function()
      local c = make()
      local runs = map_runs_of(c, "runs-10")
      local seen = {}
      for i, run in ipairs(runs) do
        local d = c:describe_map_run { mapRunArn = run.mapRunArn }
        assert.are.equal(run.mapRunArn, d.mapRunArn)
        assert.are.equal(run.executionArn, d.executionArn)
        assert.are.equal(run.startDate, d.startDate)
        assert.are.equal(run.stopDate, d.stopDate)
        assert.are.equal("number", type(d.startDate))
        assert.is_truthy(d.startDate % 1 ~= 0, "the fraction is kept")
        seen[d.status] = (seen[d.status] or 0) + 1
        assert.is_truthy(({ RUNNING = 1, SUCCEEDED = 1, FAILED = 1, ABORTED = 1 })[d.status])
        assert.are.equal(d.status == "RUNNING", d.stopDate == nil)
        assert.are.equal("integer", math_type(d.maxConcurrency))
        assert.are.equal("number", type(d.toleratedFailurePercentage))
        assert.are.equal("integer", math_type(d.toleratedFailureCount))
        assert.are.equal(0, d.redriveCount)
        assert.is_nil(d.redriveDate)
        for _, counts in ipairs { d.itemCounts, d.executionCounts } do
          for _, k in ipairs(COUNT_KEYS) do
            assert.are.equal("integer", math_type(counts[k]), k)
            assert.is_true(counts[k] >= 0, k)
          end
          assert.are.equal(counts.total, counts.pending + counts.running + counts.succeeded + counts.failed
            + counts.timedOut + counts.aborted)
        end
        assert.are.same(d.itemCounts, d.executionCounts)
        if d.status == "SUCCEEDED" then
          assert.are.equal(d.itemCounts.total, d.itemCounts.succeeded)
        elseif d.status == "FAILED" then
          assert.is_true(d.itemCounts.failed + d.itemCounts.timedOut > 0)
        elseif d.status == "ABORTED" then
          assert.is_true(d.itemCounts.aborted > 0)
        end
        assert.are.equal(200, d.ResponseMetadata.HTTPStatusCode)
        assert.are.equal(0, d.ResponseMetadata.RetryAttempts)
        assert.matches("^%x+%-", d.ResponseMetadata.RequestId)
        assert.are.equal(i == 10, d.status == "RUNNING")
      end
      assert.are.same({ SUCCEEDED = 7, FAILED = 1, ABORTED = 1, RUNNING = 1 }, seen)
    end)

    it("shows a RUNNING Map Run's counts advancing, then its stop (live-1-2)", function()
      local c = make()
      server:reset() -- a fresh start for the live execution
      local run = map_runs_of(c, "live-1-2")[1]
      assert.is_nil(run.stopDate)
      local first = c:describe_map_run { mapRunArn = run.mapRunArn }
      assert.are.equal("RUNNING", first.status)
      support.sleep(1)
      local second = c:describe_map_run { mapRunArn = run.mapRunArn }
      assert.is_true(second.itemCounts.succeeded > first.itemCounts.succeeded)
      assert.is_true(second.itemCounts.pending < first.itemCounts.pending)
      support.sleep(1.2)
      local last = c:describe_map_run { mapRunArn = run.mapRunArn }
      assert.are.equal("SUCCEEDED", last.status)
      assert.are.equal(last.itemCounts.total, last.itemCounts.succeeded)
      assert.are.equal(map_runs_of(c, "live-1-2")[1].stopDate, last.stopDate)
    end)

    it("raises the service's errors with operation DescribeMapRun", function()
      local c = make()
      local run = map_runs_of(c, "runs-3")[1]
      local cases = {
        { run.mapRunArn:sub(1, -5) .. "0000", "ResourceNotFound", "Resource not found" },
        { run.executionArn, "InvalidArn", "Invalid Arn" },
        { "not an arn", "InvalidArn", "Invalid Arn" },
        { run.mapRunArn:gsub("runs%-3", "missing"), "ResourceNotFound" },
      }
      for _, case in ipairs(cases) do
        local err = raises(c.describe_map_run, c, { mapRunArn = case[1] })
        assert.are.equal(case[2], err.code)
        assert.are.equal("DescribeMapRun", err.operation)
        assert.are.equal(400, err.status)
        assert.is_false(err.retryable)
        assert.are.equal(1, err.attempts)
        if case[3] then
          assert.matches(case[3], err.message, 1, true)
        end
      end
    end)

    it("shares the common errors, retries and faults", function()
      local c = make { max_attempts = 3, sleep = function() end }
      local function arn_of(name)
        return map_runs_of(make { max_attempts = 5, sleep = function() end }, name)[1].mapRunArn
      end
      -- throttle-2: the listing above took two throttles; the describe takes its own two
      local d = c:describe_map_run { mapRunArn = arn_of("throttle-2") }
      assert.are.equal(2, d.ResponseMetadata.RetryAttempts)
      local cases = {
        { "access-denied", "AccessDeniedException", "states:DescribeMapRun" },
        { "error-500", "InternalServerError", nil, 3 },
        { "bad-shape", "ResponseError", "reply has no mapRunArn" },
        { "truncated-json", "ResponseError", "truncated JSON" },
        { "error-503-html", "503", nil, 3 },
      }
      local one = make { max_attempts = 3, sleep = function() end }
      local target = map_runs_of(one, "runs-3")[1].mapRunArn
      for _, case in ipairs(cases) do
        server:config { fault = case[1] }
        local err = raises(one.describe_map_run, one, { mapRunArn = target })
        assert.are.equal(case[2], err.code, case[1])
        assert.are.equal("DescribeMapRun", err.operation)
        if case[3] then
          assert.is_truthy(err.message:find(case[3], 1, true), err.message)
        end
        assert.are.equal(case[4] or 1, err.attempts, case[1])
      end
      server:config { fault = false }
    end)
  end)
end

-- ------------------------------------------------------------ ListExecutions

for transport, make in pairs(TRANSPORTS) do
  describe("list_executions and its iterators (" .. transport .. ")", function()
    it("lists a Map Run's child executions whose statuses match its counts", function()
      local c = make()
      for _, run in ipairs(map_runs_of(c, "runs-10")) do
        local d = c:describe_map_run { mapRunArn = run.mapRunArn }
        local by_status, n = {}, 0
        for e in c:executions({ mapRunArn = run.mapRunArn }, { page_size = 37 }) do
          n = n + 1
          by_status[e.status] = (by_status[e.status] or 0) + 1
          assert.are.equal(run.mapRunArn, e.mapRunArn)
          assert.are.equal(run.stateMachineArn, e.stateMachineArn)
          assert.are.equal(1, e.itemCount)
          assert.are.equal(0, e.redriveCount)
          local suffix = ":execution:flow/runs-10:" .. e.name
          assert.are.equal(suffix, e.executionArn:sub(-#suffix))
          assert.are.equal(e.status == "RUNNING", e.stopDate == nil)
          assert.are.equal("number", type(e.startDate))
        end
        local ic = d.itemCounts
        assert.are.equal(ic.total - ic.pending, n)
        assert.are.equal(ic.succeeded, by_status.SUCCEEDED or 0)
        assert.are.equal(ic.failed, by_status.FAILED or 0)
        assert.are.equal(ic.timedOut, by_status.TIMED_OUT or 0)
        assert.are.equal(ic.aborted, by_status.ABORTED or 0)
        if d.status ~= "RUNNING" then
          assert.are.equal(ic.running, by_status.RUNNING or 0)
        end
      end
    end)

    it("filters by status and redrive", function()
      local c = make()
      local failed_run = map_runs_of(c, "runs-10")[5]
      local d = c:describe_map_run { mapRunArn = failed_run.mapRunArn }
      assert.are.equal("FAILED", d.status)
      local page = c:list_executions { mapRunArn = failed_run.mapRunArn, statusFilter = "FAILED" }
      assert.are.equal(d.itemCounts.failed, #page.executions)
      for _, e in ipairs(page.executions) do
        assert.are.equal("FAILED", e.status)
      end
      assert.are.equal(0, #c:list_executions { mapRunArn = failed_run.mapRunArn, redriveFilter = "REDRIVEN" }.executions)
      page = c:list_executions { mapRunArn = failed_run.mapRunArn, redriveFilter = "NOT_REDRIVEN", maxResults = 1000 }
      assert.are.equal(d.itemCounts.total, #page.executions)
      assert.is_nil(page.nextToken)
    end)

    it("pages with nextToken, and lists a state machine's executions", function()
      local c = make()
      local run = map_runs_of(c, "runs-3")[1]
      local page = c:list_executions { mapRunArn = run.mapRunArn, maxResults = 5 }
      assert.are.equal(5, #page.executions)
      assert.are.equal("string", type(page.nextToken))
      local again = c:list_executions { mapRunArn = run.mapRunArn, maxResults = 5, nextToken = page.nextToken }
      assert.are_not.equal(page.executions[1].executionArn, again.executions[1].executionArn)
      -- a token is tied to its query
      local err = raises(c.list_executions, c,
        { mapRunArn = run.mapRunArn, statusFilter = "SUCCEEDED", nextToken = page.nextToken })
      assert.are.equal("InvalidToken", err.code)
      assert.are.equal("ListExecutions", err.operation)
      local sm = "arn:aws:states:us-east-1:123456789012:stateMachine:flow"
      page = c:list_executions { stateMachineArn = sm }
      assert.are.equal(5, #page.executions)
      assert.are.equal("RUNNING", page.executions[1].status)
      assert.are.equal("exec-4", page.executions[1].name)
      assert.is_nil(page.executions[1].mapRunArn)
      err = raises(c.list_executions, c, { stateMachineArn = sm:gsub("flow$", "missing") })
      assert.are.equal("StateMachineDoesNotExist", err.code)
      err = raises(c.list_executions, c, { mapRunArn = run.executionArn })
      assert.are.equal("InvalidArn", err.code)
      err = raises(c.list_executions, c, { mapRunArn = run.mapRunArn:sub(1, -5) .. "0000" })
      assert.are.equal("ResourceNotFound", err.code)
    end)

    it("stops at max_items and resumes after the last item returned", function()
      local c = make()
      local run = map_runs_of(c, "runs-3")[2]
      local all = {}
      for e in c:executions { mapRunArn = run.mapRunArn } do
        all[#all + 1] = e.executionArn
      end
      local got, token, rounds = {}, nil, 0
      repeat
        local iterate, pager = c:executions({ mapRunArn = run.mapRunArn },
          { max_items = 7, page_size = 3, starting_token = token })
        for e in iterate, pager do
          got[#got + 1] = e.executionArn
        end
        assert.are.equal("ListExecutions", pager.operation)
        token = pager.resume_token
        rounds = rounds + 1
      until token == nil
      assert.are.same(all, got)
      assert.are.equal(math.ceil(#all / 7), rounds)
      -- pages
      local pages = 0
      for page in c:list_executions_pages({ mapRunArn = run.mapRunArn }, { page_size = 10 }) do
        pages = pages + 1
        assert.is_true(#page.executions <= 10)
      end
      assert.are.equal(math.ceil(#all / 10), pages)
    end)
  end)
end

-- ------------------------------------------------------------ resume tokens

describe("ListExecutions resume tokens", function()
  it("carry a nextToken of up to 3,096 characters (ListMapRuns' stop at 1,024)", function()
    local MR = "arn:aws:states:us-east-1:123456789012:mapRun:flow/x:00000000-0000-4000-8000-000000000000"
    local long = ("\240\159\152\128"):rep(3096)
    local token = core.encode_token(long, 5)
    assert.is_true(#token > 16640)
    local pager = core.new_pager({ mapRunArn = MR, statusFilter = "FAILED" }, { starting_token = token }, "ListExecutions")
    local params = pager:next_params()
    assert.are.equal(long, params.nextToken)
    assert.are.equal(MR, params.mapRunArn)
    assert.are.equal("FAILED", params.statusFilter)
    local err = raises(core.new_pager, { executionArn = "arn:x" }, { starting_token = token })
    assert.are.equal("ValidationError", err.code)
    assert.are.equal("ListMapRuns", err.operation)
    -- one character more than the model allows is refused as unusable
    err = raises(core.new_pager, { mapRunArn = MR }, { starting_token = core.encode_token(long .. "x") },
      "ListExecutions")
    assert.are.equal("ListExecutions", err.operation)
    assert.matches("unusable nextToken", err.message)
    err = raises(core.new_pager, { mapRunArn = MR }, nil, "DescribeMapRun")
    assert.matches("not an operation that pages", err.message)
  end)

  it("page, stop and resume exactly as boto3's paginator", function()
    if support.capture([[python3 -c 'import boto3' 2>&1]]) ~= "" then
      pending("boto3 is not importable by python3")
      return
    end
    local c = TRANSPORTS.curl()
    local runs = map_runs_of(c, "runs-3")
    local cases = {
      { 1, nil, 7 }, { 1, 10, 7 }, { 1, 7, 7 }, { 2, 3, nil }, { 2, 1, 4 }, { 3, 25, 5 }, { 3, 26, 5 },
      { 1, 40, nil, "SUCCEEDED" }, { 1, 5, 2, "FAILED" },
    }
    local script, input = os.tmpname(), os.tmpname()
    support.write_file(script, [==[
import sys, boto3
from botocore.config import Config
url, key, secret = sys.argv[1:4]
client = boto3.client("stepfunctions", region_name="us-east-1", endpoint_url=url,
                      aws_access_key_id=key, aws_secret_access_key=secret,
                      config=Config(retries={"total_max_attempts": 1}))
out = []
for line in open(sys.argv[4]):
    arn, max_items, page_size, status = line.split()
    config, start = {}, None
    if max_items != "-":
        config["MaxItems"] = int(max_items)
    if page_size != "-":
        config["PageSize"] = int(page_size)
    kwargs = {"mapRunArn": arn}
    if status != "-":
        kwargs["statusFilter"] = status
    for _ in range(100):
        if start:
            config["StartingToken"] = start
        pages = client.get_paginator("list_executions").paginate(PaginationConfig=dict(config), **kwargs)
        for page in pages:
            out.append("page " + (",".join(e["name"][-8:] for e in page["executions"]) or "-"))
        out.append("resume " + (pages.resume_token or "-"))
        if pages.resume_token is None:
            break
        start = pages.resume_token
    out.append("end")
sys.stdout.write("\n".join(out) + "\n")
]==])
    local lines, ours = {}, {}
    for i, case in ipairs(cases) do
      local arn = runs[case[1]].mapRunArn
      lines[i] = ("%s %s %s %s"):format(arn, case[2] or "-", case[3] or "-", case[4] or "-")
      local start
      for _ = 1, 100 do
        local iterate, pager = c:list_executions_pages({ mapRunArn = arn, statusFilter = case[4] },
          { max_items = case[2], page_size = case[3], starting_token = start })
        for page in iterate, pager do
          local names = {}
          for k, e in ipairs(page.executions) do
            names[k] = e.name:sub(-8)
          end
          ours[#ours + 1] = "page " .. (#names > 0 and table.concat(names, ",") or "-")
        end
        ours[#ours + 1] = "resume " .. (pager.resume_token or "-")
        start = pager.resume_token
        if not start then
          break
        end
      end
      ours[#ours + 1] = "end"
    end
    support.write_file(input, table.concat(lines, "\n") .. "\n")
    local creds = server.credentials[1]
    local theirs = support.lines(("python3 %s %s %s %s %s 2>&1"):format(script, server.url,
      creds.access_key_id, support.quote(creds.secret_access_key), input))
    os.remove(script)
    os.remove(input)
    assert.are.same(theirs, ours)
    local resumes = 0
    for _, line in ipairs(ours) do
      if line:match("^resume [^-]") then
        resumes = resumes + 1
      end
    end
    assert.is_true(resumes >= 8)
  end)
end)

-- ------------------------------------------------------------ the helper

for transport, make in pairs(TRANSPORTS) do
  describe("map_run_descriptions (" .. transport .. ")", function()
    it("walks the Map Runs with one DescribeMapRun each", function()
      local c = make()
      server:reset()
      local n = 0
      for description, run in c:map_run_descriptions({ executionArn = server:arn("runs-12") }, { page_size = 5 }) do
        n = n + 1
        assert.are.equal(run.mapRunArn, description.mapRunArn)
        assert.are.equal(run.startDate, description.startDate)
        assert.are.equal(run.stateMachineArn:match(":stateMachine:(.*)$"), "flow/runs-12")
        assert.is_string(description.status)
      end
      assert.are.equal(12, n)
      assert.are.equal(3 + 12, server:stats().requests) -- three pages, twelve describes
    end)

    it("stops at max_items with a resume token, and raises a describe's error", function()
      local c = make()
      local iterate, pager = c:map_run_descriptions({ executionArn = server:arn("runs-12") }, { max_items = 4 })
      local n = 0
      for _ in iterate, pager do
        n = n + 1
      end
      assert.are.equal(4, n)
      assert.is_string(pager.resume_token)
      server:config { fault = "access-denied" }
      local ok, err = pcall(function()
        for _ in c:map_run_descriptions { executionArn = server:arn("runs-3") } do
        end
      end)
      server:config { fault = false }
      assert.is_false(ok)
      assert.are.equal("AccessDeniedException", err.code)
    end)
  end)
end

-- ------------------------------------------------------------ sfn.safe

describe("sfn.safe twins", function()
  it("return nil, err and end loops with nil, err", function()
    local c = safe.new(server:client_config { max_attempts = 1 })
    local d, err = c:describe_map_run { mapRunArn = "nope" }
    assert.is_nil(d)
    assert.are.equal("DescribeMapRun", err.operation)
    local page
    page, err = c:list_executions {}
    assert.is_nil(page)
    assert.are.equal("ValidationError", err.code)
    local iterate, state = c:executions { mapRunArn = "nope" }
    local value
    value, err = iterate(state)
    assert.is_nil(value)
    assert.are.equal("InvalidArn", err.code)
    assert.are.equal(err, state.error)
    local pairs_seen = 0
    for description, run in c:map_run_descriptions { executionArn = server:arn("runs-3") } do
      assert.are.equal(run.mapRunArn, description.mapRunArn)
      pairs_seen = pairs_seen + 1
    end
    assert.are.equal(3, pairs_seen)
  end)
end)

-- ------------------------------------------------------------ decoding

describe("core.decode_operation_reply", function()
  local decode = core.decode_operation_reply
  local H = { ["x-amzn-RequestId"] = "rid" }
  local function counts(extra)
    return '{"pending":0,"running":0,"succeeded":5,"failed":0,"timedOut":0,"aborted":0,"total":5,"resultsWritten":5'
      .. (extra or "") .. "}"
  end
  local function describe_body(replace)
    local fields = {
      mapRunArn = '"m"', executionArn = '"e"', status = '"SUCCEEDED"', startDate = "1700000000.5",
      maxConcurrency = "0", toleratedFailurePercentage = "2.5", toleratedFailureCount = "0",
      itemCounts = counts(), executionCounts = counts(',"pendingRedrive":1'),
    }
    for k, v in pairs(replace or {}) do
      fields[k] = v ~= false and v or nil
    end
    local parts = {}
    for k, v in pairs(fields) do
      parts[#parts + 1] = ('"%s":%s'):format(k, v)
    end
    return "{" .. table.concat(parts, ",") .. ',"unknown":{"deep":[1,2,[3]]}}'
  end

  it("decodes the DescribeMapRun shape; unknown members ignored, nulls absent", function()
    local d = decode("DescribeMapRun", 200, H, describe_body { stopDate = "null", redriveDate = "1700000001.25" })
    assert.are.equal("m", d.mapRunArn)
    assert.are.equal(1700000000.5, d.startDate)
    assert.is_nil(d.stopDate)
    assert.are.equal(1700000001.25, d.redriveDate)
    assert.are.equal(2.5, d.toleratedFailurePercentage)
    assert.are.equal(1, d.executionCounts.pendingRedrive)
    assert.is_nil(d.itemCounts.pendingRedrive)
    assert.is_nil(d.unknown)
    assert.are.same({ RequestId = "rid", HTTPStatusCode = 200, RetryAttempts = 0 }, d.ResponseMetadata)
  end)

  it("names the member a reply gets wrong", function()
    local cases = {
      { describe_body { status = false }, "reply has no status" },
      { describe_body { startDate = '"yesterday"' }, "startDate is a string, not a date in seconds" },
      { describe_body { itemCounts = '{"total":1}' }, "itemCounts has no pending" },
      { describe_body { executionCounts = counts():gsub('"total":5', '"total":"5"') },
        "executionCounts.total is a string, not a number" },
      { describe_body { itemCounts = "[]" }, "itemCounts is an array, not an object" },
      { "[1]", "reply body is an array, not an object" },
      { "{", "truncated JSON" },
      { "", "reply body is empty" },
      { "{} x", "data after the JSON value" },
    }
    for _, case in ipairs(cases) do
      local err = raises(decode, "DescribeMapRun", 200, H, case[1])
      assert.are.equal("ResponseError", err.code)
      assert.are.equal("DescribeMapRun", err.operation)
      assert.are.equal("rid", err.request_id)
      assert.is_truthy(err.message:find(case[2], 1, true), err.message .. " / " .. case[2])
    end
    local list_cases = {
      { '{"executions":{}}', "executions is an object, not an array" },
      { '{"nextToken":"x"}', "reply has no executions" },
      { '{"executions":[{"executionArn":"e","stateMachineArn":"s","name":"n","startDate":1}]}',
        "executions[1] has no status" },
      { '{"executions":[5]}', "executions[1] is a number, not an object" },
      { '{"executions":[],"nextToken":7}', "nextToken is a number, not a string" },
    }
    for _, case in ipairs(list_cases) do
      local err = raises(decode, "ListExecutions", 200, H, case[1])
      assert.are.equal("ResponseError", err.code)
      assert.are.equal("ListExecutions", err.operation)
      assert.is_truthy(err.message:find(case[2], 1, true), err.message .. " / " .. case[2])
    end
  end)

  it("drops an empty nextToken, and decodes error replies as every operation", function()
    local page = decode("ListExecutions", 200, H, '{"executions":[],"nextToken":""}')
    assert.are.same({}, page.executions)
    assert.is_nil(page.nextToken)
    local err = raises(decode, "ListExecutions", 400, H,
      '{"__type":"com.amazonaws.swf.service.v2.model#ResourceNotFound","message":"gone"}')
    assert.are.equal("ResourceNotFound", err.code)
    assert.are.equal("gone", err.message)
    assert.are.equal("ListExecutions", err.operation)
    err = raises(decode, "DescribeMapRun", "200")
    assert.are.equal("ValidationError", err.code)
    err = raises(decode, "Nope", 200)
    assert.matches("unknown operation", err.message)
  end)
end)

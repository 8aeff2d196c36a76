-- sfn-map-runs after the list (issue 12): --describe, --executions and
-- --watch against the stand-in, in-process (JSON and table, exit statuses,
-- pacing) and as the real command on a real terminal: tmux runs it,
-- capture-pane shows the progress view drawing and finishing, and Ctrl-C
-- (send-keys C-c) leaves exit status 130 and a visible cursor.
local cli = require "sfn.cli"
local sfn = require "sfn"
local standin = require "standin"
local support = require "support"

local quote, capture = support.quote, support.capture
local ROOT = capture("pwd"):match("[^\n]+")
local LUA = support.interpreter()

local server
setup(function()
  server = standin.start()
end)
teardown(function()
  if server then
    server:stop()
  end
end)

local function sink()
  local s = { parts = {} }
  function s:write(...)
    for i = 1, select("#", ...) do
      self.parts[#self.parts + 1] = tostring((select(i, ...)))
    end
    return self
  end
  function s:flush()
    return self
  end
  function s:text()
    return table.concat(self.parts)
  end
  return s
end

local function new_client(opts)
  local cfg = server:client_config { max_attempts = 3 }
  cfg.sleep = function() end
  for k, v in pairs(opts) do
    if v ~= nil then
      cfg[k] = v
    end
  end
  return sfn.new(cfg)
end

-- Runs the command in-process: status, stdout, stderr.
local function run(args, ctx)
  local out, err = sink(), sink()
  ctx = ctx or {}
  ctx.stdout, ctx.stderr = out, err
  ctx.new_client = ctx.new_client or new_client
  local status = cli.run(args, ctx)
  return status, out:text(), err:text()
end

local function json_decode(text)
  local f = assert(io.popen("python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d))' > /dev/null", "w"))
  f:write(text)
  return f:close()
end

describe("sfn-map-runs: parsing the new modes", function()
  it("accepts --describe, --watch [SECONDS], --executions ARN and the filters", function()
    local o = assert(cli.parse_args { "E", "--describe" })
    assert.is_true(o.describe)
    o = assert(cli.parse_args { "E", "--watch" })
    assert.are.equal(cli.DEFAULT_WATCH_SECONDS, o.watch)
    o = assert(cli.parse_args { "E", "--watch", "0.25" })
    assert.are.equal(0.25, o.watch)
    o = assert(cli.parse_args { "--watch", "2", "E" })
    assert.are.equal(2, o.watch)
    assert.are.equal("E", o.execution_arn)
    o = assert(cli.parse_args { "--watch=3", "E" })
    assert.are.equal(3, o.watch)
    o = assert(cli.parse_args { "--executions", "M", "--status-filter", "FAILED", "--redrive-filter", "NOT_REDRIVEN" })
    assert.are.same({ "M", "FAILED", "NOT_REDRIVEN" }, { o.executions, o.status_filter, o.redrive_filter })
  end)

  it("refuses combinations that make no sense", function()
    for _, case in ipairs {
      { { "E", "--describe", "--watch" }, "one at a time" },
      { { "E", "--status-filter", "FAILED" }, "goes with --executions" },
      { { "E", "--redrive-filter", "REDRIVEN" }, "goes with --executions" },
      { { "E", "--watch", "--max-items", "3" }, "--watch shows every Map Run" },
      { { "E", "--executions", "M" }, "takes a MAP_RUN_ARN, not an EXECUTION_ARN" },
      { { "E", "--watch=0" }, "--watch wants seconds" },
      { { "E", "--watch=x" }, "--watch wants seconds" },
      { { "E", "--watch=99999" }, "--watch wants seconds" },
      { { "--executions" }, "--executions wants a value" },
    } do
      local o, err = cli.parse_args(case[1])
      assert.is_nil(o)
      assert.is_truthy(err:find(case[2], 1, true), err)
    end
    local status, _, err = run { "E", "--describe", "--watch" }
    assert.are.equal(2, status)
    assert.matches("usage:", err)
  end)
end)

describe("sfn-map-runs --describe", function()
  it("prints DescribeMapRun's shape per Map Run (JSON) and resumes with NextToken", function()
    local status, out = run { server:arn("runs-10"), "--describe", "--max-items", "5" }
    assert.are.equal(0, status)
    assert.is_true(json_decode(out))
    local n = select(2, out:gsub('"mapRunArn"', ""))
    assert.are.equal(5, n)
    assert.matches('"itemCounts": {\n                "pending": 0,', out, 1, true)
    assert.matches('"toleratedFailurePercentage": %d+%.0,', out)
    assert.matches('"stopDate": "2023%-11%-14T22:13:50.625Z"', out)
    local token = out:match('"NextToken": "([^"]+)"')
    status, out = run { server:arn("runs-10"), "--describe", "--starting-token", token }
    assert.are.equal(0, status)
    assert.are.equal(5, select(2, out:gsub('"mapRunArn"', "")))
    assert.matches('"status": "RUNNING"', out)
    assert.not_matches("NextToken", out)
  end)

  it("prints status, counts and percent done as a table", function()
    local status, out = run { server:arn("runs-10"), "--describe", "--output", "table" }
    assert.are.equal(0, status)
    local rows = {}
    for line in out:gmatch("[^\n]+") do
      rows[#rows + 1] = line
    end
    assert.are.equal(11, #rows)
    assert.matches("^MAP RUN ARN%s+STATUS%s+SUCCEEDED%s+FAILED%s+RUNNING%s+PENDING%s+TOTAL%s+DONE$", rows[1])
    assert.matches("SUCCEEDED%s+%d+%s+0%s+0%s+0%s+%d+%s+100%%$", rows[2])
    assert.matches("FAILED%s+%d+%s+%d+%s+0%s+0%s+%d+%s+100%%$", rows[6])
    assert.matches("ABORTED", rows[9])
    assert.matches("RUNNING%s+%d+%s+0%s+%d+%s+%d+%s+%d+%s+%d+%%$", rows[11])
  end)

  it("fails with one line and status 1 on a service error", function()
    local status, out, err = run { server:arn("missing"), "--describe" }
    assert.are.equal(1, status)
    assert.are.equal("", out)
    assert.matches("^sfn%-map%-runs: ListMapRuns: ExecutionDoesNotExist", err)
  end)
end)

describe("sfn-map-runs --executions", function()
  local function failed_map_run()
    return new_client({}):all_map_runs { executionArn = server:arn("runs-10") }[5].mapRunArn
  end

  it("lists the child executions as list-executions --map-run-arn does", function()
    local arn = failed_map_run()
    local status, out = run { "--executions", arn, "--status-filter", "FAILED" }
    assert.are.equal(0, status)
    assert.is_true(json_decode(out))
    assert.matches('^{\n    "executions": %[\n        {\n            "executionArn": ', out)
    assert.not_matches('"status": "SUCCEEDED"', out)
    local d = new_client({}):describe_map_run { mapRunArn = arn }
    assert.are.equal(d.itemCounts.failed, select(2, out:gsub('"status": "FAILED"', "")))
    status, out = run { "--executions", arn, "--max-items", "4", "--page-size", "3", "--output", "table" }
    assert.are.equal(0, status)
    local rows = {}
    for line in out:gmatch("[^\n]+") do
      rows[#rows + 1] = line
    end
    assert.matches("^EXECUTION ARN%s+STATUS%s+START%s+STOP$", rows[1])
    assert.are.equal(6, #rows)
    assert.matches("^NextToken: ", rows[6])
    status, out = run { "--executions", arn, "--redrive-filter", "REDRIVEN" }
    assert.are.equal(0, status)
    assert.are.equal('{\n    "executions": []\n}\n', out)
  end)

  it("reports a bad filter before any request, and the service's errors", function()
    server:reset()
    local status, out, err = run { "--executions", failed_map_run(), "--status-filter", "DONE" }
    assert.are.equal(1, status)
    assert.are.equal("", out)
    assert.matches("ListExecutions: ValidationError: statusFilter: must be one of", err)
    status, out, err = run { "--executions", "arn:aws:states:us-east-1:123456789012:execution:flow:x" }
    assert.are.equal("", out)
    assert.are.equal(1, status)
    assert.matches("ListExecutions: InvalidArn", err)
  end)
end)

describe("sfn-map-runs --watch", function()
  local function counting_client()
    local counts = { describes = {} }
    local function factory(opts)
      local c = new_client(opts)
      local describe = c.describe_map_run
      rawset(c, "describe_map_run", function(self, params)
        counts.describes[params.mapRunArn] = (counts.describes[params.mapRunArn] or 0) + 1
        return describe(self, params)
      end)
      return c
    end
    return factory, counts
  end

  it("prints a line per change until every Map Run stopped; 0 when all succeeded", function()
    server:reset()
    local factory, counts = counting_client()
    local ticks = 0
    local status, out = run({ server:arn("live-2-1"), "--watch", "0.2" }, {
      tty = false, new_client = factory,
      sleep = function(s)
        ticks = ticks + s
        support.sleep(s)
      end,
    })
    assert.are.equal(0, status)
    local lines = {}
    for line in out:gmatch("[^\n]+") do
      lines[#lines + 1] = line
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ flow/live%-2%-1:%x+ %u+ succeeded=%d+ failed=%d+", line)
    end
    assert.matches(" RUNNING ", lines[1])
    assert.matches(" SUCCEEDED .* 100%%$", lines[#lines])
    assert.not_matches("\27", out)
    -- pacing: at most one DescribeMapRun per Map Run per interval
    local intervals = math.floor(ticks / 0.2 + 0.5) + 1
    local n = 0
    for _, k in pairs(counts.describes) do
      n = n + 1
      assert.is_true(k <= intervals, k .. " describes in " .. intervals .. " intervals")
    end
    assert.are.equal(2, n)
  end)

  it("exits 1 when a Map Run failed, and stops describing what has stopped", function()
    server:reset()
    local factory, counts = counting_client()
    local status, out = run({ server:arn("live-3-1"), "--watch", "0.25" },
      { tty = false, new_client = factory, sleep = support.sleep })
    assert.are.equal(1, status)
    assert.matches(" FAILED succeeded=%d+ failed=%d+", out)
    local list = new_client({}):all_map_runs { executionArn = server:arn("live-3-1") }
    -- the first Map Run stops first: it is described fewer times than the last
    assert.is_true(counts.describes[list[1].mapRunArn] < counts.describes[list[3].mapRunArn])
    -- an execution whose Map Runs all stopped long ago: one frame
    status, out = run({ server:arn("runs-3"), "--watch", "5" }, { tty = false, sleep = error })
    assert.are.equal(0, status)
    assert.are.equal(3, select(2, out:gsub("\n", "")))
  end)

  it("draws frames in place on a terminal and restores the cursor", function()
    server:reset()
    local status, out = run({ server:arn("live-2-1"), "--watch", "0.2" },
      { tty = true, columns = 160, sleep = support.sleep })
    assert.are.equal(0, status)
    assert.are.equal("\27[?25l", out:sub(1, 6))
    assert.are.equal("\27[?25h", out:sub(-6))
    assert.matches("\27%[4F\27%[J", out) -- header, summary, two Map Runs
    local last = out:match(".*\27%[J(.*)$")
    assert.matches("2 Map Runs: 0 running, 2 stopped\n", last)
    assert.matches("flow/live%-2%-1:%x+%s+SUCCEEDED%s+%[#+%]%s+40/40%s+100%%", last)
    assert.matches("flow/live%-2%-1:%x+%s+SUCCEEDED%s+%[#+%]%s+60/60%s+100%%", last)
  end)

  it("draws progress bars that add up", function()
    assert.are.equal(("#"):rep(12) .. ("x"):rep(2) .. (">"):rep(5) .. ("."):rep(5),
      cli.progress_bar { total = 100, succeeded = 50, failed = 8, running = 20, pending = 22 })
    assert.are.equal("#" .. ("."):rep(23), cli.progress_bar { total = 1000, succeeded = 1, pending = 999 })
    assert.are.equal(("."):rep(24), cli.progress_bar { total = 5, pending = 5 })
    assert.are.equal((" "):rep(24), cli.progress_bar { total = 0 })
  end)
end)

-- ------------------------------------------------------------ tmux

local function have_tmux()
  return support.run("command -v tmux >/dev/null 2>&1")
end

describe("sfn-map-runs --watch on a real terminal (tmux)", function()
  local socket = os.tmpname()
  local session = "sfnwatch" .. tostring(os.time() % 100000)

  local function tmux(args)
    return capture("tmux -S " .. quote(socket) .. " " .. args .. " 2>&1")
  end

  local function pane()
    return tmux("capture-pane -p -t " .. session)
  end

  local function command(args)
    local env = {
      "env",
      "AWS_ACCESS_KEY_ID=" .. server.credentials[1].access_key_id,
      "AWS_SECRET_ACCESS_KEY=" .. server.credentials[1].secret_access_key,
      "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" .. server.url,
      "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
      "AWS_EC2_METADATA_DISABLED=true", "NO_PROXY=127.0.0.1",
      "LUA_PATH=" .. support.lua_path(ROOT), "LUA_CPATH=" .. support.lua_cpath(ROOT),
    }
    local parts = {}
    for i, e in ipairs(env) do
      parts[i] = quote(e)
    end
    parts[#parts + 1] = quote(LUA)
    parts[#parts + 1] = quote(ROOT .. "/bin/sfn-map-runs")
    for _, a in ipairs(args) do
      parts[#parts + 1] = quote(a)
    end
    return table.concat(parts, " ") .. "; echo EXIT=$?"
  end

  local function start(args)
    tmux("kill-server")
    tmux(("new-session -d -s %s -x 150 -y 20 %s"):format(session, quote("sh -c " .. quote("trap : INT; " .. command(args) .. "; sleep 30"))))
  end

  local function wait_for(pattern, seconds)
    local text
    for _ = 1, seconds * 10 do
      text = pane()
      if text:find(pattern) then
        return text
      end
      support.sleep(0.1)
    end
    error("the pane never showed " .. pattern .. ":\n" .. tostring(text))
  end

  after_each(function()
    tmux("kill-server")
  end)
  teardown(function()
    os.remove(socket)
  end)

  it("draws the progress view and finishes with the exit status", function()
    if not have_tmux() then
      pending("tmux is not installed (apt-get install tmux)")
      return
    end
    server:reset()
    start { server:arn("live-3-3"), "--watch", "0.3" }
    local drawing = wait_for("%[[#x>]+%.+%]", 10) -- a frame with a bar still in progress
    assert.matches("3 Map Runs: %d running", drawing)
    assert.matches("RUNNING", drawing)
    local final = wait_for("EXIT=%d+", 20)
    assert.matches("EXIT=1", final) -- the third Map Run fails
    assert.matches("3 Map Runs: 0 running, 3 stopped, 1 failed or aborted", final)
    assert.matches("SUCCEEDED%s+%[#+%]%s+40/40", final)
    assert.matches("FAILED%s+%[#+x+%]%s+80/80", final)
    -- drawn in place: the header appears once on the screen
    assert.are.equal(1, select(2, final:gsub("Map Runs:", "")))
    if os.getenv("SFN_WATCH_FRAME") then
      local f = assert(io.open(os.getenv("SFN_WATCH_FRAME"), "w"))
      f:write(final)
      f:close()
    end
  end)

  it("leaves a clean terminal and status 130 on Ctrl-C", function()
    if not have_tmux() then
      pending("tmux is not installed (apt-get install tmux)")
      return
    end
    server:reset()
    start { server:arn("live-2-60"), "--watch", "0.5" }
    wait_for("2 Map Runs: 2 running", 10)
    tmux("send-keys -t " .. session .. " C-c")
    local final = wait_for("EXIT=%d+", 10)
    assert.matches("EXIT=130", final)
    assert.not_matches("interrupted", final)
    assert.not_matches("traceback", final)
    -- the cursor is visible again (tmux tracks the mode)
    assert.are.equal("1", tmux("display-message -p -t " .. session .. " '#{cursor_flag}'"):match("%d"))
  end)
end)

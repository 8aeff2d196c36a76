-- The Lua side of the benchmarks; bench/run.py runs it under lua5.4 and
-- luajit with LUA_PATH/LUA_CPATH pointing at the checkout and its build.
-- Every mode prints one JSON line per figure on stdout.
--
--   bench.lua call URL N [WARMUP]     client:list_map_runs against URL
--   bench.lua decode FILE ROUNDS N    core.decode_reply vs cjson.decode
--                                     vs the floor (benchfloor: the same
--                                     tables, no parsing),
--                                     alternating, N decodes per round
--   bench.lua decode-only WHICH FILE N     N decodes with "sfn", "cjson"
--                                     or "floor"
--   bench.lua heap FILE               Lua heap one decoded page holds,
--                                     for each of the three
--   bench.lua sign N                  core.sign (warm key cache) and
--                                     core.build_request (no key cache)
--   bench.lua iterate URL PAGESIZE    every Map Run via client:map_runs,
--                                     then the peak RSS (VmHWM)
--   bench.lua startup                 require "sfn" + sfn.new{...}, timed
--                                     from inside a fresh interpreter
--   bench.lua cli-json PAGE ROUNDS    the CLI's JSON writer over a PAGE-item
--                                     listing to /dev/null: the C writer
--                                     (sfn.cli) and the Lua one it replaced
--                                     (spec/oracle), alternating, ns per Map Run
--   bench.lua cli-json-only WHICH PAGE N   N PAGE-item listings with the "c"
--                                     or the "lua" writer, for callgrind
local clock = require "benchclock"
local now = clock.now

local ARN = "arn:aws:states:us-east-1:123456789012:execution:orders-nightly-reconcile:"
  .. "run-2024-11-24T02-00-00Z-7d3f9a1c"
local CREDENTIALS = {
  access_key_id = "AKIDEXAMPLE",
  secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
}
local interp = type(jit) == "table" and "luajit" or _VERSION:gsub("Lua ", "lua")

local function emit(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == "number" then
      v = (v == math.floor(v) and math.abs(v) < 2^53) and ("%d"):format(v) or ("%.6g"):format(v)
    else
      v = ("%q"):format(tostring(v))
    end
    out[#out + 1] = ("%q:%s"):format(k, v)
  end
  io.write("{", table.concat(out, ","), "}\n")
  io.flush()
end

local function new_client(url)
  local sfn = require "sfn"
  return sfn.new {
    region = "us-east-1",
    endpoint = url,
    credentials = CREDENTIALS,
    transport = "curl",
  }
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function vm_hwm_kib()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+)")
    if kb then return tonumber(kb) end
  end
end

local modes = {}

function modes.call(url, n, warmup)
  n = tonumber(n)
  warmup = tonumber(warmup) or math.floor(n / 10) + 1
  local client = new_client(url)
  local params = { executionArn = ARN, maxResults = 100 }
  local page
  for _ = 1, warmup do page = client:list_map_runs(params) end
  collectgarbage()
  local t0 = now()
  for _ = 1, n do page = client:list_map_runs(params) end
  local t1 = now()
  assert(#page.mapRuns > 0)
  emit { bench = "call", interp = interp, n = n, ns_per_call = (t1 - t0) / n,
         items = #page.mapRuns }
end

local HEADERS = {
  ["content-type"] = "application/x-amz-json-1.0",
  ["x-amzn-requestid"] = "9b1f6a3e-5c2d-4e8f-a1b0-3c4d5e6f7a8b",
}

local function decoders(body)
  local core = require "sfn.core"
  local cjson = require "cjson"
  local floor = require "benchfloor"
  local prepared = floor.prepare(cjson.decode(body))
  return {
    sfn = function() return core.decode_reply(200, HEADERS, body) end,
    cjson = function() return cjson.decode(body) end,
    floor = function() return floor.build(prepared) end,
  }
end

-- Alternating rounds: the decoders see the same machine state; the order
-- rotates from round to round.
function modes.decode(file, rounds, n)
  rounds, n = tonumber(rounds), tonumber(n)
  local body = read_file(file)
  local d = decoders(body)
  local names = { "sfn", "cjson", "floor" }
  local a, b, c = d.sfn(), d.cjson(), d.floor()
  assert(#a.mapRuns == #b.mapRuns and a.mapRuns[#a.mapRuns].mapRunArn == b.mapRuns[#b.mapRuns].mapRunArn)
  assert(#c.mapRuns == #a.mapRuns and c.mapRuns[#c.mapRuns].stopDate == a.mapRuns[#a.mapRuns].stopDate)
  for _ = 1, n do
    for _, which in ipairs(names) do d[which]() end -- warm up (and JIT)
  end
  for r = 1, rounds do
    local t = {}
    for k = 1, #names do
      local which = names[(k + r - 2) % #names + 1]
      local f = d[which]
      collectgarbage()
      local t0 = now()
      for _ = 1, n do f() end
      t[which] = (now() - t0) / n
    end
    emit { bench = "decode", interp = interp, round = r, n = n, items = #a.mapRuns,
           bytes = #body, sfn_ns = t.sfn, cjson_ns = t.cjson, floor_ns = t.floor }
  end
end

-- For callgrind: exactly n decodes with one decoder.
modes["decode-only"] = function(which, file, n)
  n = tonumber(n)
  local f = decoders(read_file(file))[which]
  for _ = 1, n do f() end
  emit { bench = "decode-only", which = which, n = n }
end

-- The Lua heap one decoded page holds: collectgarbage("count") after full
-- collections, with and without the page. Each page is made and weighed in
-- a call of its own, so no stack slot of this frame keeps the last one.
local function heap_of(decode)
  collectgarbage()
  collectgarbage()
  local before = collectgarbage("count")
  local holder = { decode() }
  collectgarbage()
  collectgarbage()
  return math.floor((collectgarbage("count") - before) * 1024 + 0.5), #holder[1].mapRuns
end

function modes.heap(file)
  local d = decoders(read_file(file))
  local out = { bench = "heap", interp = interp }
  for _, which in ipairs { "sfn", "cjson", "floor" } do
    out[which .. "_bytes"], out.items = heap_of(d[which])
  end
  emit(out)
end

function modes.sign(n)
  n = tonumber(n)
  local core = require "sfn.core"
  local t = {
    method = "POST", path = "/",
    headers = {
      { "Host", "127.0.0.1:8080" },
      { "Content-Type", "application/x-amz-json-1.0" },
      { "X-Amz-Target", "AWSStepFunctions.ListMapRuns" },
    },
    body = '{"executionArn":"' .. ARN .. '","maxResults":100}',
    access_key_id = CREDENTIALS.access_key_id,
    secret_access_key = CREDENTIALS.secret_access_key,
    region = "us-east-1", service = "states",
    timestamp = "20241124T020000Z",
  }
  for _ = 1, 1000 do core.sign(t) end
  local t0 = now()
  for _ = 1, n do core.sign(t) end
  emit { bench = "sign", interp = interp, op = "core.sign", n = n, ns = (now() - t0) / n }

  local cfg = { endpoint = "http://127.0.0.1:8080", region = "us-east-1", credentials = CREDENTIALS }
  local params = { executionArn = ARN, maxResults = 100 }
  local opts = { time = 1732413600 }
  for _ = 1, 1000 do core.build_request(cfg, params, opts) end
  t0 = now()
  for _ = 1, n do core.build_request(cfg, params, opts) end
  emit { bench = "sign", interp = interp, op = "core.build_request", n = n, ns = (now() - t0) / n }
end

function modes.iterate(url, page_size)
  page_size = tonumber(page_size)
  local client = new_client(url)
  local count, last = 0, nil
  local t0 = now()
  for run in client:map_runs({ executionArn = ARN, maxResults = page_size }) do
    count = count + 1
    last = run
  end
  local t1 = now()
  assert(last and last.mapRunArn)
  emit { bench = "iterate", interp = interp, items = count, vm_hwm_kib = vm_hwm_kib(),
         ns_per_item = (t1 - t0) / count }
end

function modes.startup()
  local t0 = now()
  local sfn = require "sfn"
  local client = sfn.new {
    region = "us-east-1",
    endpoint = "http://127.0.0.1:8080",
    credentials = CREDENTIALS,
  }
  local t1 = now()
  assert(client.region == "us-east-1")
  emit { bench = "startup", interp = interp, ns = t1 - t0 }
end

-- A listing of page Map Runs like real ones, and the CLI's JSON writers.
local function cli_json_setup(page)
  package.path = "spec/?.lua;" .. package.path -- the old writer
  local writers = { c = require("sfn.cli").formatters.json, lua = require("oracle.json_writer_lua").json_formatter }
  local runs = {}
  for i = 1, page do
    local id = ("%08x-%04x-4%03x-8%03x-%012x"):format(i * 2654435761 % 2 ^ 32, i % 65536, i % 4096, i * 7 % 4096, i)
    runs[i] = {
      executionArn = ARN,
      mapRunArn = "arn:aws:states:us-east-1:123456789012:mapRun:orders-nightly-reconcile/ProcessOrders:" .. id,
      stateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders-nightly-reconcile",
      startDate = 1732413600 + i * 1.5 + 0.123,
      stopDate = i % 10 ~= 0 and 1732413600 + i * 2.25 + 0.987 or nil,
    }
  end
  local sink = assert(io.open("/dev/null", "w"))
  sink:setvbuf("full")
  local function write(s) sink:write(s) end
  local function one(which)
    local f = writers[which](write)
    for i = 1, page do f.item(runs[i]) end
    f.finish("token")
  end
  return one, sink
end

modes["cli-json"] = function(page, rounds)
  page, rounds = tonumber(page), tonumber(rounds)
  local one, sink = cli_json_setup(page)
  local reps = math.max(1, math.floor(20000 / page))
  local best = { c = {}, lua = {} }
  for _ = 1, rounds do
    for _, which in ipairs { "lua", "c" } do
      local t0 = now()
      for _ = 1, reps do one(which) end
      local xs = best[which]
      xs[#xs + 1] = (now() - t0) / (reps * page)
    end
  end
  sink:close()
  for _, which in ipairs { "lua", "c" } do
    local xs = best[which]
    table.sort(xs)
    emit { bench = "cli-json", interp = interp, writer = which, page = page,
           ns_per_run = xs[math.floor((#xs + 1) / 2)] }
  end
end

modes["cli-json-only"] = function(which, page, n)
  local one, sink = cli_json_setup(tonumber(page))
  for _ = 1, tonumber(n) do one(which) end
  sink:close()
end

-- For callgrind and hyperfine: the same without the clock module's output.
modes["startup-bare"] = function() end

local mode = arg[1]
if not modes[mode] then
  io.stderr:write("bench.lua: unknown mode ", tostring(mode), "\n")
  os.exit(2)
end
local unpack = table.unpack or unpack
modes[mode](unpack(arg, 2))

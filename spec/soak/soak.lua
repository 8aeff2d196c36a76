-- Soak: 20,000 calls through the local stand-in from one sfn client in one
-- process, mixing successes and every kind of error, with the resident set
-- size (VmRSS) sampled every 1,000 calls. Fails when RSS grows by more than
-- SOAK_RSS_BOUND_KB (default 1024) between call SOAK_WARMUP (default 2,000)
-- and the last call, or when an outcome is not the one expected.
--
--   make soak                          (builds, then runs this under lua5.4)
--   SOAK_CALLS=5000 make soak          a shorter run
--   lua5.4 spec/soak/soak.lua          from the checkout, with build/ made
--
-- A "call" is one public method call on the client: list_map_runs, or a
-- whole map_runs / all_map_runs loop (several HTTP requests). Before each
-- sample a full collection runs, so what is measured is memory that stays
-- reachable or leaked, not the collector's pace; the Lua heap
-- (collectgarbage "count") is printed beside RSS to tell the two apart.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = (os.getenv("SFN_CPATH") or "build/?.so") .. ";" .. package.cpath

local sfn = require "sfn"
local standin = require "standin"

local CALLS = tonumber(os.getenv("SOAK_CALLS")) or 20000
local EVERY = tonumber(os.getenv("SOAK_EVERY")) or 1000
local WARMUP = tonumber(os.getenv("SOAK_WARMUP")) or 2000
local BOUND_KB = tonumber(os.getenv("SOAK_RSS_BOUND_KB")) or 1024
local LUA_BOUND_KB = tonumber(os.getenv("SOAK_LUA_BOUND_KB")) or 256

local function rss_kb()
  local f = assert(io.open("/proc/self/status", "r"))
  local status = f:read("*a")
  f:close()
  return tonumber(status:match("VmRSS:%s*(%d+)%s*kB"))
end

local s = standin.start {}
local client = sfn.new {
  region = "us-east-1",
  endpoint = s.url,
  credentials = { access_key_id = "AKIDEXAMPLE",
                  secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  sleep = function() end, -- nothing here is retried; never wait if it were
}

local function arn(name) return s:arn(name) end
local RUNS3, RUNS25, RUNS12 = arn("runs-3"), arn("runs-25"), arn("runs-12")
local MISSING, NONE = arn("missing"), arn("none")

-- A valid token for runs-25, fetched once; tampered copies of it are
-- InvalidToken at the service.
local first = client:list_map_runs { executionArn = RUNS25, maxResults = 10 }
local TOKEN = assert(first.nextToken)
local TAMPERED = TOKEN:sub(1, 8) .. (TOKEN:sub(9, 9) == "A" and "B" or "A") .. TOKEN:sub(10)

local outcomes = {}
local function count(k) outcomes[k] = (outcomes[k] or 0) + 1 end

-- Calls an action that must raise an sfn.Error with this code.
local function expect_error(code, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected " .. code .. ", the call succeeded", 0) end
  if not sfn.is_error(err) then error("expected " .. code .. ", got a non-sfn error: " .. tostring(err), 0) end
  if err.code ~= code then error("expected " .. code .. ", got " .. tostring(err), 0) end
  local _ = tostring(err)
  count("error " .. code)
end

local actions = {
  -- a page of 3
  function()
    local page = client:list_map_runs { executionArn = RUNS3 }
    assert(#page.mapRuns == 3 and page.nextToken == nil)
    count("page")
  end,
  -- the second page of 25, by token
  function()
    local page = client:list_map_runs { executionArn = RUNS25, maxResults = 10, nextToken = TOKEN }
    assert(#page.mapRuns == 10 and page.nextToken)
    count("page")
  end,
  -- every item of 12 over 3 pages
  function()
    local n = 0
    for run in client:map_runs({ executionArn = RUNS12 }, { page_size = 5 }) do
      assert(run.mapRunArn)
      n = n + 1
    end
    assert(n == 12, n)
    count("items")
  end,
  -- max_items, then resume from the token
  function()
    local runs, resume = client:all_map_runs({ executionArn = RUNS25 }, { max_items = 7, page_size = 4 })
    assert(#runs == 7 and resume)
    local rest = client:all_map_runs({ executionArn = RUNS25 }, { starting_token = resume, page_size = 10 })
    assert(#rest == 18, #rest)
    count("resume")
  end,
  -- an empty execution
  function()
    local page = client:list_map_runs { executionArn = NONE }
    assert(#page.mapRuns == 0)
    count("page")
  end,
  -- service errors
  function() expect_error("ExecutionDoesNotExist", client.list_map_runs, client, { executionArn = MISSING }) end,
  function()
    expect_error("InvalidToken", client.list_map_runs, client,
                 { executionArn = RUNS25, maxResults = 10, nextToken = TAMPERED })
  end,
  function() expect_error("InvalidArn", client.list_map_runs, client, { executionArn = "arn:aws:states:us-east-1:1:x" }) end,
  -- refused before sending
  function() expect_error("ValidationError", client.list_map_runs, client, { executionArn = RUNS3, maxResults = 1001 }) end,
  function() expect_error("ValidationError", client.list_map_runs, client, { executionArn = RUNS3, nextToken = "a\0b" }) end,
  function() expect_error("ValidationError", client.list_map_runs, client, { executionArn = RUNS3, bogus = 1 }) end,
  function()
    expect_error("ValidationError", function()
      for _ in client:map_runs({ executionArn = RUNS3 }, { starting_token = "a___b___c" }) do end
    end)
  end,
}

-- Samples live in number arrays filled in advance, so that keeping them
-- does not grow the Lua heap being measured.
local NSAMPLES = math.floor(CALLS / EVERY) + 1
local S = { calls = {}, rss = {}, lua = {}, requests = {}, seconds = {} }
for _, a in pairs(S) do
  for i = 1, NSAMPLES do a[i] = 0 end
end
local taken = 0
local function sample(calls, started)
  collectgarbage("collect")
  collectgarbage("collect")
  local lua, rss = collectgarbage("count"), rss_kb()
  local requests = s:stats().requests
  taken = taken + 1
  S.calls[taken], S.rss[taken], S.lua[taken] = calls, rss, lua
  S.requests[taken], S.seconds[taken] = requests, os.time() - started
  io.write(("%7d calls  %7d requests  RSS %7d kB  Lua heap %8.1f kB  %4d s\n")
    :format(calls, requests, rss, lua, S.seconds[taken]))
  io.flush()
end

s:reset()
local started = os.time()
io.write(("soak: %d calls against %s, RSS sampled every %d\n"):format(CALLS, s.url, EVERY))
sample(0, started)
for i = 1, CALLS do
  actions[(i - 1) % #actions + 1]()
  if i % EVERY == 0 then sample(i, started) end
end

local keys = {}
for k in pairs(outcomes) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do io.write(("  %-32s %6d\n"):format(k, outcomes[k])) end

local base, last = 1, taken
for i = 1, taken do
  if S.calls[i] == WARMUP then base = i end
end
local grew, lua_grew = S.rss[last] - S.rss[base], S.lua[last] - S.lua[base]
local peak = 0
for i = base, taken do
  if S.rss[i] - S.rss[base] > peak then peak = S.rss[i] - S.rss[base] end
end
io.write(("soak: RSS %d kB at call %d, %d kB at call %d: %+d kB (peak %+d kB; bound %d kB); "
  .. "Lua heap %+.1f kB; %d HTTP requests in %d s\n")
  :format(S.rss[base], S.calls[base], S.rss[last], S.calls[last], grew, peak, BOUND_KB, lua_grew,
          S.requests[last], S.seconds[last]))
client:close()
s:stop()
if grew > BOUND_KB or lua_grew > LUA_BOUND_KB then
  io.stderr:write("soak: FAILED: memory grew after warm-up\n")
  os.exit(1)
end
io.write("soak: ok\n")

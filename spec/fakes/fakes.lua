-- Starts and stops the loopback fakes in spec/fakes/aws_fakes.py, and makes
-- temporary HOME directories. `require "fakes.fakes"` (spec/ is on the path).
local fakes = {}

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function sleep(s) sh("sleep " .. s) end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
fakes.read = read

function fakes.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

--- A fresh temporary directory (removed by fakes.rmdir).
function fakes.tmpdir()
  local name = os.tmpname()
  os.remove(name)
  assert(sh("mkdir -p '" .. name .. "'"))
  return name
end

function fakes.rmdir(dir)
  if dir and dir:match("^/tmp/") then sh("rm -rf '" .. dir .. "'") end
end

--- Starts one fake: kind "imds" | "container" | "sts", extra args list.
function fakes.start(kind, args)
  local dir = fakes.tmpdir()
  local port_file, log_file = dir .. "/port", dir .. "/log"
  local argv = { "python3", "spec/fakes/aws_fakes.py", kind, port_file, log_file }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  local quoted = {}
  for i, a in ipairs(argv) do quoted[i] = "'" .. a:gsub("'", "'\\''") .. "'" end
  local p = assert(io.popen(table.concat(quoted, " ") .. " >/dev/null 2>&1 & echo $!"))
  local pid = tonumber(p:read("*l"))
  p:close()
  local port
  for _ = 1, 200 do
    local s = read(port_file)
    if s and tonumber(s) then port = tonumber(s) break end
    sleep(0.05)
  end
  assert(port, "fake " .. kind .. " did not start")
  local server = { pid = pid, port = port, dir = dir, url = "http://127.0.0.1:" .. port }
  function server.stop()
    if server.pid then
      sh("kill " .. math.floor(server.pid) .. " 2>/dev/null")
      server.pid = nil
    end
    fakes.rmdir(dir)
  end
  function server.requests()
    local core = require "sfn.core"
    local out = {}
    local text = read(log_file) or ""
    for line in text:gmatch("[^\n]+") do out[#out + 1] = core.json_decode(line) end
    return out
  end
  return server
end

--- A getenv over a table (nil for anything not in it).
function fakes.env(t)
  return function(name) return t[name] end
end

return fakes

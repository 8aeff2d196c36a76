-- Shared spec plumbing: files, shell commands, temporary directories and
-- child interpreters. Plain Lua (5.1, 5.4, LuaJIT), no libraries.
--
--   local support = require "support"
--   support.quote(s)              -> s as one single-quoted shell word
--   support.read_file(path)       -> whole file (binary), or nil, err when it cannot be opened
--   support.write_file(path, s)   -- replaces the file (binary); raises on failure
--   support.capture(cmd)          -> everything cmd wrote on stdout (io.popen)
--   support.lines(cmd)            -> { line, ... } of cmd's stdout
--   support.run(cmd)              -> true when cmd exited 0 (os.execute, 5.1 and 5.2+ alike)
--   support.sleep(seconds)
--   support.tmpdir(name)          -> a new directory "${TMPDIR:-/tmp}/<name>.XXXXXX" (nil if mktemp failed)
--   support.wait_for_file(path, tries, interval) -> the file's contents once it exists, or nil
--   support.interpreter()         -> the interpreter running busted ($SFN_LUA, else arg's lowest index)
--   support.lua_path(root)        -> LUA_PATH for a child interpreter that loads this checkout's lua/
--   support.lua_cpath(root)       -> LUA_CPATH for it ($SFN_CPATH or build/?.so)
-- With root (an absolute directory) the paths are absolute; without, relative to the cwd.
local M = {}

function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local data = f:read("*a")
  f:close()
  return data
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  f:close()
end

function M.capture(cmd)
  local h = assert(io.popen(cmd, "r"))
  local out = h:read("*a")
  h:close()
  return out
end

function M.lines(cmd)
  local out = {}
  local h = assert(io.popen(cmd, "r"))
  for line in h:lines() do
    out[#out + 1] = line
  end
  h:close()
  return out
end

function M.run(cmd)
  local a, _, c = os.execute(cmd)
  return a == true or a == 0 or (a == nil and c == 0) -- 5.1/LuaJIT return a number, 5.2+ true/nil
end

function M.sleep(seconds)
  os.execute("sleep " .. seconds)
end

function M.tmpdir(name)
  return M.capture("mktemp -d \"${TMPDIR:-/tmp}/" .. name .. ".XXXXXX\""):match("[^\r\n]+")
end

function M.wait_for_file(path, tries, interval)
  for _ = 1, tries do
    local data = M.read_file(path)
    if data then
      return data
    end
    M.sleep(interval)
  end
  return nil
end

function M.interpreter()
  local env = os.getenv("SFN_LUA")
  if env and env ~= "" then
    return env
  end
  local i = 0
  while arg and arg[i - 1] ~= nil do
    i = i - 1
  end
  if i < 0 then
    return arg[i]
  end
  return type(jit) == "table" and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
end

local function under(root, template)
  if not root then
    return template
  end
  local parts = {}
  for p in template:gmatch("[^;]+") do
    parts[#parts + 1] = p:sub(1, 1) == "/" and p or (root .. "/" .. p)
  end
  return table.concat(parts, ";")
end

function M.lua_path(root)
  return under(root, "lua/?.lua;lua/?/init.lua") .. ";;"
end

function M.lua_cpath(root)
  return under(root, os.getenv("SFN_CPATH") or "build/?.so") .. ";;"
end

return M

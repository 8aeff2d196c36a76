--- Shared config and credentials files, read as botocore reads them
-- (Python's configparser.RawConfigParser, then botocore's profile map).
--
-- Parsing rules kept from configparser: `[section]` headers (case kept),
-- `key = value` or `key: value` (keys lower-cased, values trimmed), full-line
-- comments starting with `#` or `;` (also indented), no inline comments,
-- indented lines continue the previous value (a value that starts with a
-- newline is a sub-section: `sfn =` then indented `endpoint_url = ...`),
-- duplicate sections or keys and lines outside any section are errors.
-- Errors name the file and line, never the line's text (it may be a secret).
-- @module sfn.profile
local core = require "sfn.core"
local errors = require "sfn.errors"

local profile = { _VERSION = "0.1.0" }

local function config_error(msg)
  errors.raise("ConfigError", msg)
end

local byte, find, sub = string.byte, string.find, string.sub

-- The parser (sfn.profile.ini) loads when a file exists: a process without
-- config files never compiles it.
local function ini()
  return require "sfn.profile.ini"
end

--- s without leading and trailing whitespace.
-- @tparam string s
-- @treturn string
function profile.trim(s)
  return ini().trim(s)
end

--- shlex.split for section names (`profile "my name"`).
-- @tparam string s
-- @treturn table|nil the words, nil on unbalanced quotes
function profile.split_words(s)
  return ini().split_words(s)
end

--- Parses INI text like configparser.RawConfigParser + botocore's
-- raw_config_parse (sub-sections for values starting with a newline).
-- Linear in the size of the text.
-- @tparam string text
-- @tparam string name the file name for error messages
-- @treturn table `{ [section] = { [key] = value|{subkey=value} } }` plus
--   `order` (section names in file order); see `sfn.profile.ini.parse`
-- @raise ConfigError
function profile.parse(text, name)
  return ini().parse(text, name)
end

-- os.path.expandvars + expanduser, with the caller's getenv: `$NAME` and
-- `${NAME}` (NAME of [A-Za-z0-9_] in the first form) become the variable's
-- value when it is set and stay as written otherwise; one left-to-right
-- pass, linear in the path (a value is never expanded again).
function profile.expand_path(path, getenv)
  local out, i, close = {}, 1, nil
  while true do
    local d = find(path, "$", i, true)
    if not d then break end
    local name, stop
    if byte(path, d + 1) == 123 then -- {
      -- the first } after d + 1; cached: it stays the first while it lies ahead
      if close == nil or (close and close < d + 2) then close = find(path, "}", d + 2, true) or false end
      if close then name, stop = sub(path, d + 2, close - 1), close end
    else
      local _, e = find(path, "^[%w_]+", d + 1)
      if e then name, stop = sub(path, d + 1, e), e end
    end
    local val = name and getenv(name)
    if type(val) == "string" then
      out[#out + 1] = sub(path, i, d - 1)
      out[#out + 1] = val
      i = stop + 1
    elseif name then
      out[#out + 1] = sub(path, i, stop)
      i = stop + 1
    else
      out[#out + 1] = sub(path, i, d)
      i = d + 1
    end
  end
  out[#out + 1] = sub(path, i)
  path = table.concat(out)
  if sub(path, 1, 1) == "~" and (sub(path, 2, 2) == "/" or #path == 1) then
    local home = getenv("HOME")
    if type(home) == "string" and home ~= "" then path = home .. sub(path, 2) end
  end
  return path
end

--- The largest config or credentials file read (bytes); a bigger one is a
-- ConfigError naming the file.
profile.MAX_FILE_BYTES = 16 * 1024 * 1024

-- A missing file holds no profiles (botocore swallows ConfigNotFound); any
-- other failure (a directory, FIFO, device or socket, a file over the cap,
-- one that cannot be read) is a ConfigError naming the file.
local function load_ini(path)
  if path == "" then return nil end
  if path:find("\0", 1, true) then config_error("a config or credentials file path holds a NUL byte") end
  local text, err, kind = core.read_file(path, profile.MAX_FILE_BYTES)
  if not text then
    if kind == "missing" then return nil end
    config_error(err)
  end
  return profile.parse(text, path)
end

--- Loads both files into botocore's profile map.
-- @tparam function getenv
-- @treturn table `{ profiles = {name = {...}}, config_profiles = {...},
--   credentials_profiles = {...}, services = {name = {...}},
--   sso_sessions = {name = {...}} (the `[sso-session NAME]` sections),
--   config_file = path, credentials_file = path }`
function profile.load(getenv)
  local raw = getenv
  -- a caller's getenv may return anything: only strings count
  getenv = function(k)
    local v = raw(k)
    if type(v) == "string" then return v end
    return nil
  end
  local config_file = profile.expand_path(getenv("AWS_CONFIG_FILE") or "~/.aws/config", getenv)
  local creds_file = profile.expand_path(getenv("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials", getenv)
  local out = {
    profiles = {}, config_profiles = {}, credentials_profiles = {}, services = {}, sso_sessions = {},
    config_file = config_file, credentials_file = creds_file,
  }
  local cfg = load_ini(config_file)
  local creds = load_ini(creds_file)
  if cfg or creds then ini().profile_map(out, cfg, creds) end
  return out
end

return profile

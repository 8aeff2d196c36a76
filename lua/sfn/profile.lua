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
local errors = require "sfn.errors"

local profile = { _VERSION = "0.1.0" }

local function config_error(msg)
  errors.raise("ConfigError", msg)
end

-- shlex.split for section names ("profile foo" / 'profile "my name"').
-- Returns nil on unbalanced quotes, as shlex raises ValueError.
local function split_words(s)
  local words, cur, i, n, in_word = {}, {}, 1, #s, false
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then
      if in_word then words[#words + 1] = table.concat(cur); cur = {}; in_word = false end
    elseif c == "'" then
      local j = s:find("'", i + 1, true)
      if not j then return nil end
      cur[#cur + 1] = s:sub(i + 1, j - 1); in_word = true; i = j
    elseif c == '"' then
      i = i + 1
      while true do
        if i > n then return nil end
        local d = s:sub(i, i)
        if d == '"' then break end
        if d == "\\" and i < n and (s:sub(i + 1, i + 1) == '"' or s:sub(i + 1, i + 1) == "\\") then
          i = i + 1; d = s:sub(i, i)
        end
        cur[#cur + 1] = d; i = i + 1
      end
      in_word = true
    elseif c == "\\" then
      if i == n then return nil end
      i = i + 1; cur[#cur + 1] = s:sub(i, i); in_word = true
    else
      cur[#cur + 1] = c; in_word = true
    end
    i = i + 1
  end
  if in_word then words[#words + 1] = table.concat(cur) end
  return words
end
profile.split_words = split_words

local function indent_of(line)
  local ws = line:match("^[ \t\f\v]*")
  return #ws
end

--- Parses INI text like configparser.RawConfigParser + botocore's
-- raw_config_parse (sub-sections for values starting with a newline).
-- @tparam string text
-- @tparam string name the file name for error messages
-- @treturn table `{ [section] = { [key] = value|{subkey=value} } }` plus
--   `order` (section names in file order)
-- @raise ConfigError
function profile.parse(text, name)
  local sections, order = {}, {}
  local defaults = {}
  local cur, cur_name, optname, optlines
  local cur_indent = 0
  local lineno = 0
  local function finish_option()
    if cur and optname then
      -- configparser joins the lines, then strips trailing blank lines
      local v = table.concat(optlines, "\n"):gsub("%s+$", "")
      cur[optname] = v
    end
    optname, optlines = nil, nil
  end
  text = text:gsub("\r\n", "\n")
  if text:sub(1, 3) == "\239\187\191" then text = text:sub(4) end
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    local stripped = line:match("^%s*(.-)%s*$")
    local is_comment = stripped:sub(1, 1) == "#" or stripped:sub(1, 1) == ";"
    if stripped == "" or is_comment then
      -- empty_lines_in_values: a blank line inside a value is kept
      if stripped == "" and optname then optlines[#optlines + 1] = "" end
    else
      local ind = indent_of(line)
      if cur and optname and ind > cur_indent then
        optlines[#optlines + 1] = stripped
      else
        cur_indent = ind
        local header = stripped:match("^%[(.+)%]")
        if header then
          finish_option()
          if header == "DEFAULT" then
            cur, cur_name = defaults, header
          else
            if sections[header] then
              config_error(("%s line %d: section [%s] appears twice"):format(name, lineno, header))
            end
            cur, cur_name = {}, header
            sections[header] = cur
            order[#order + 1] = header
          end
        elseif not cur then
          config_error(("%s line %d: a key outside any [section] (the file must start with a section header)")
            :format(name, lineno))
        else
          local key, value = stripped:match("^(.-)%s*[=:]%s*(.*)$")
          if not key then
            config_error(("%s line %d: not a `key = value` line or [section] header"):format(name, lineno))
          end
          finish_option()
          key = key:lower()
          if cur[key] ~= nil then
            config_error(("%s line %d: key %q appears twice in [%s]"):format(name, lineno, key, cur_name))
          end
          optname, optlines = key, { value }
          cur[key] = value
        end
      end
    end
  end
  finish_option()
  -- [DEFAULT] values show through in every section, as in configparser
  for _, sname in ipairs(order) do
    local s = sections[sname]
    for k, v in pairs(defaults) do
      if s[k] == nil then s[k] = v end
    end
  end
  -- botocore: a value starting with a newline is a nested key = value block
  for _, sname in ipairs(order) do
    local s = sections[sname]
    for k, v in pairs(s) do
      if type(v) == "string" and v:sub(1, 1) == "\n" then
        local nested = {}
        for sub in v:gmatch("[^\n]+") do
          local t = sub:match("^%s*(.-)%s*$")
          if t ~= "" then
            local nk, nv = t:match("^([^=]*)=(.*)$")
            if not nk then
              config_error(("%s: [%s] %s: a nested line is not `key = value`"):format(name, sname, k))
            end
            nested[nk:match("^%s*(.-)%s*$")] = nv:match("^%s*(.-)%s*$")
          end
        end
        s[k] = nested
      end
    end
  end
  return { sections = sections, order = order }
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text, rerr = f:read("*a")
  f:close()
  if not text then return nil, rerr end
  return text
end

local function is_file(path)
  local f = io.open(path, "rb")
  if not f then return false end
  -- a directory opens on Linux but cannot be read
  local ok = f:read(0)
  f:close()
  return ok ~= nil
end

-- os.path.expandvars + expanduser, with the caller's getenv.
function profile.expand_path(path, getenv)
  path = path:gsub("%$(%b{})", function(v)
    local val = getenv(v:sub(2, -2))
    return val
  end)
  path = path:gsub("%$([%a_][%w_]*)", function(v)
    return getenv(v)
  end)
  if path:sub(1, 1) == "~" and (path:sub(2, 2) == "/" or #path == 1) then
    local home = getenv("HOME")
    if home and home ~= "" then path = home .. path:sub(2) end
  end
  return path
end

local function load_ini(path)
  if not is_file(path) then
    -- missing file: no profiles (botocore's ConfigNotFound is swallowed);
    -- an existing but unreadable file is an error
    local f, err = io.open(path, "rb")
    if f then f:close() return nil end
    if err and not err:match("No such file") and not err:match("Is a directory") then
      config_error(("cannot read %s: %s"):format(path, err))
    end
    return nil
  end
  local text, err = read_file(path)
  if not text then config_error(("cannot read %s: %s"):format(path, tostring(err))) end
  return profile.parse(text, path)
end

--- Loads both files into botocore's profile map.
-- @tparam function getenv
-- @treturn table `{ profiles = {name = {...}}, config_profiles = {...},
--   credentials_profiles = {...}, services = {name = {...}},
--   config_file = path, credentials_file = path }`
function profile.load(getenv)
  local config_file = profile.expand_path(getenv("AWS_CONFIG_FILE") or "~/.aws/config", getenv)
  local creds_file = profile.expand_path(getenv("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials", getenv)
  local out = {
    profiles = {}, config_profiles = {}, credentials_profiles = {}, services = {},
    config_file = config_file, credentials_file = creds_file,
  }
  local cfg = load_ini(config_file)
  if cfg then
    for _, key in ipairs(cfg.order) do
      local values = cfg.sections[key]
      local target, pname
      if key:sub(1, 7) == "profile" then
        target = out.config_profiles
      elseif key:sub(1, 8) == "services" then
        target = out.services
      elseif key == "default" then
        target, pname = out.config_profiles, "default"
      end
      if target and not pname then
        local words = split_words(key)
        if words and #words == 2 then pname = words[2] end
      end
      if target and pname then target[pname] = values end
    end
  end
  local creds = load_ini(creds_file)
  if creds then
    for _, key in ipairs(creds.order) do
      out.credentials_profiles[key] = creds.sections[key]
    end
  end
  -- the merged map: config profiles, overlaid by the credentials file
  for name, values in pairs(out.config_profiles) do
    local copy = {}
    for k, v in pairs(values) do copy[k] = v end
    out.profiles[name] = copy
  end
  for name, values in pairs(out.credentials_profiles) do
    local p = out.profiles[name]
    if not p then p = {}; out.profiles[name] = p end
    for k, v in pairs(values) do p[k] = v end
  end
  return out
end

return profile

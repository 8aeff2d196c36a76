--- The INI parser of the shared config and credentials files (see
-- `sfn.profile`, which loads it only when one of them exists).
-- @module sfn.profile.ini
local errors = require "sfn.errors"

local ini = { _VERSION = "0.1.0" }

local function config_error(msg)
  errors.raise("ConfigError", msg)
end

local byte, find, sub = string.byte, string.find, string.sub

-- Every scan below is linear in its input: no Lua pattern that can
-- backtrack over an unbounded run (`^%s*(.-)%s*$`, `(.-)%s*=`, `%s+$`)
-- touches text from a file.

-- Lua's %s: space, \t, \n, \v, \f, \r.
local function is_space(c)
  return c == 32 or (c ~= nil and c >= 9 and c <= 13)
end

-- The index of the last non-space byte at or before j (0 when none).
local function last_nonspace(s, j)
  while j > 0 and is_space(byte(s, j)) do j = j - 1 end
  return j
end

-- s without leading and trailing whitespace.
local function trim(s)
  local i = find(s, "%S")
  if not i then return "" end
  return sub(s, i, last_nonspace(s, #s))
end
ini.trim = trim

-- s without trailing whitespace.
local function rtrim(s)
  return sub(s, 1, last_nonspace(s, #s))
end

-- A name (section, key) as an error message shows it: short, one line.
local function shown(s)
  if #s > 64 then s = sub(s, 1, 64) .. "..." end
  return (s:gsub("%c", "?"))
end

-- shlex.split for section names ("profile foo" / 'profile "my name"').
-- Returns nil on unbalanced quotes, as shlex raises ValueError. Copies runs
-- of plain characters at once.
local function split_words(s)
  local words, cur, i, n, in_word = {}, {}, 1, #s, false
  while i <= n do
    local c = byte(s, i)
    if is_space(c) then
      if in_word then words[#words + 1] = table.concat(cur); cur = {}; in_word = false end
      i = i + 1
    elseif c == 39 then -- '
      local j = find(s, "'", i + 1, true)
      if not j then return nil end
      cur[#cur + 1] = sub(s, i + 1, j - 1); in_word = true; i = j + 1
    elseif c == 34 then -- "
      i = i + 1
      while true do
        local j = find(s, '["\\]', i)
        if not j then return nil end
        cur[#cur + 1] = sub(s, i, j - 1)
        if byte(s, j) == 34 then i = j + 1; break end
        -- a backslash escapes only " and \ inside double quotes
        local nx = byte(s, j + 1)
        if nx == 34 or nx == 92 then
          cur[#cur + 1] = string.char(nx); i = j + 2
        else
          cur[#cur + 1] = "\\"; i = j + 1
        end
      end
      in_word = true
    elseif c == 92 then -- \
      if i == n then return nil end
      cur[#cur + 1] = sub(s, i + 1, i + 1); in_word = true; i = i + 2
    else
      local j = find(s, "[%s'\"\\]", i) or n + 1
      cur[#cur + 1] = sub(s, i, j - 1); in_word = true; i = j
    end
  end
  if in_word then words[#words + 1] = table.concat(cur) end
  return words
end
ini.split_words = split_words

local function indent_of(line)
  return (find(line, "[^ \t\f\v]") or #line + 1) - 1
end

-- The index of the `]` closing a `[section]` header: the last one, with at
-- least one byte between (configparser's `\[(?P<header>.+)\]`).
local function last_close(s)
  for j = #s, 3, -1 do
    if byte(s, j) == 93 then return j end
  end
  return nil
end

-- botocore: a value starting with a newline is a nested key = value block.
local function nest(s, sname, name)
  for k, v in pairs(s) do
    if type(v) == "string" and byte(v, 1) == 10 then
      local nested = {}
      for line in v:gmatch("[^\n]+") do
        local t = trim(line)
        if t ~= "" then
          local eq = find(t, "=", 1, true)
          if not eq then
            config_error(("%s: [%s] %s: a nested line is not `key = value`"):format(name, shown(sname), shown(k)))
          end
          nested[trim(sub(t, 1, eq - 1))] = trim(sub(t, eq + 1))
        end
      end
      s[k] = nested
    end
  end
end

--- Parses INI text like configparser.RawConfigParser + botocore's
-- raw_config_parse (sub-sections for values starting with a newline).
-- Linear in the size of the text.
-- @tparam string text
-- @tparam string name the file name for error messages
-- @treturn table `{ [section] = { [key] = value|{subkey=value} } }` plus
--   `order` (section names in file order). `[DEFAULT]` keys show through
--   in every section (an `__index` to one shared table, not a copy per
--   section: a file of many sections and many defaults stays linear).
-- @raise ConfigError
function ini.parse(text, name)
  local sections, order = {}, {}
  local defaults, has_defaults = {}, false
  local cur, cur_name, optname, optlines
  local cur_indent = 0
  local lineno = 0
  local function finish_option()
    if cur and optname then
      -- configparser joins the lines, then strips trailing blank lines
      cur[optname] = rtrim(table.concat(optlines, "\n"))
    end
    optname, optlines = nil, nil
  end
  text = text:gsub("\r\n", "\n")
  if sub(text, 1, 3) == "\239\187\191" then text = sub(text, 4) end
  local pos, len = 1, #text
  while pos <= len do
    local nl = find(text, "\n", pos, true) or len + 1
    local line = sub(text, pos, nl - 1)
    pos = nl + 1
    lineno = lineno + 1
    local stripped = trim(line)
    local first = byte(stripped, 1)
    if first == nil or first == 35 or first == 59 then -- empty, # or ;
      -- empty_lines_in_values: a blank line inside a value is kept
      if first == nil and optname then optlines[#optlines + 1] = "" end
    else
      local ind = indent_of(line)
      if cur and optname and ind > cur_indent then
        optlines[#optlines + 1] = stripped
      else
        cur_indent = ind
        local close = first == 91 and #stripped > 2 and last_close(stripped)
        if close then
          local header = sub(stripped, 2, close - 1)
          finish_option()
          if header == "DEFAULT" then
            cur, cur_name, has_defaults = defaults, header, true
          else
            if sections[header] then
              config_error(("%s line %d: section [%s] appears twice"):format(name, lineno, shown(header)))
            end
            cur, cur_name = {}, header
            sections[header] = cur
            order[#order + 1] = header
          end
        elseif not cur then
          config_error(("%s line %d: a key outside any [section] (the file must start with a section header)")
            :format(name, lineno))
        else
          local d = find(stripped, "[=:]")
          if not d then
            config_error(("%s line %d: not a `key = value` line or [section] header"):format(name, lineno))
          end
          local key, value = rtrim(sub(stripped, 1, d - 1)), trim(sub(stripped, d + 1))
          finish_option()
          key = key:lower()
          if cur[key] ~= nil then
            config_error(("%s line %d: key %q appears twice in [%s]"):format(name, lineno, shown(key),
              shown(cur_name)))
          end
          optname, optlines = key, { value }
          cur[key] = value
        end
      end
    end
  end
  finish_option()
  for _, sname in ipairs(order) do nest(sections[sname], sname, name) end
  if has_defaults then
    nest(defaults, "DEFAULT", name)
    -- [DEFAULT] values show through in every section, as in configparser
    local mt = { __index = defaults }
    for _, sname in ipairs(order) do setmetatable(sections[sname], mt) end
  end
  return { sections = sections, order = order, defaults = has_defaults and defaults or nil }
end

local function defaults_of(section)
  local mt = section and getmetatable(section)
  return mt and mt.__index
end

-- One profile of the merged map: botocore updates the config profile (its
-- [DEFAULT] keys included) with the credentials profile (its own [DEFAULT]
-- keys included). Own keys are copied; [DEFAULT] keys are looked up.
local function merge(cfgp, credp)
  local p = {}
  local cdef, fdef = defaults_of(credp), defaults_of(cfgp)
  for k, v in pairs(cfgp or {}) do
    -- a [DEFAULT] key of the credentials file beats the config profile's own
    if not (cdef and cdef[k] ~= nil) then p[k] = v end
  end
  for k, v in pairs(credp or {}) do p[k] = v end
  if cdef or fdef then
    setmetatable(p, { __index = function(_, k)
      local v = cdef and cdef[k]
      if v == nil and fdef then v = fdef[k] end
      return v
    end })
  end
  return p
end

--- Fills botocore's profile map (`sfn.profile.load`'s result) from the
-- parsed files: the config file's `[profile NAME]`, `[services NAME]` and
-- `[sso-session NAME]` sections, the credentials file's sections, and the
-- merged profiles.
-- @tparam table out `sfn.profile.load`'s result, its tables empty
-- @tparam[opt] table cfg the parsed config file
-- @tparam[opt] table creds the parsed credentials file
function ini.profile_map(out, cfg, creds)
  if cfg then
    for _, key in ipairs(cfg.order) do
      local values = cfg.sections[key]
      local target, pname
      if key:sub(1, 7) == "profile" then
        target = out.config_profiles
      elseif key:sub(1, 8) == "services" then
        target = out.services
      elseif key:sub(1, 11) == "sso-session" then
        target = out.sso_sessions
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
  if creds then
    for _, key in ipairs(creds.order) do
      out.credentials_profiles[key] = creds.sections[key]
    end
  end
  -- the merged map: config profiles, overlaid by the credentials file
  for name, values in pairs(out.config_profiles) do
    out.profiles[name] = merge(values, out.credentials_profiles[name])
  end
  for name, values in pairs(out.credentials_profiles) do
    if not out.profiles[name] then out.profiles[name] = merge(nil, values) end
  end
end

return ini

-- luacheck (Debian lua-check): `make lint` checks lua/, bin/, spec/,
-- examples/ and bench/ and fails on any warning.
-- The library and the CLI run on every interpreter: only what Lua 5.1-5.4 and
-- LuaJIT all define, plus the compat fallbacks the code tests for.
std = "min"
read_globals = { "unpack", "loadstring", "setfenv", "getfenv", "jit", "table.unpack", "math.type", "utf8" }
max_line_length = 120

-- the specs: busted's globals and what they probe for; table-driven cases
-- keep one case a line, up to 160 columns
files["spec"] = { std = "+busted", max_line_length = 160, read_globals = { "newproxy", "math.tointeger" } }
-- generated data: one case a line
files["spec/fixtures"] = { max_line_length = false }
-- code that runs inside nginx: ngx_lua's globals (ngx, ndk), LuaJIT
files["spec/nginx"] = { std = "ngx_lua" }
files["bench/nginx_gen.lua"] = { std = "ngx_lua" }
files["examples/openresty"] = { std = "ngx_lua" }
-- Three credential-provider lines in lua/ run just past 120; files shared
-- with concurrent work are not rewrapped for it.
files["lua/sfn/credentials"] = { max_line_length = 125 }

-- Loaded by busted before every spec file (see .busted): puts the checkout's
-- Lua files and the build under test on the module paths, and keeps every
-- credential source the suite might touch away from real addresses.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = (os.getenv("SFN_CPATH") or "build/?.so") .. ";" .. package.cpath

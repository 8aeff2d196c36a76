/* benchclock: a monotonic clock for the Lua benches (os.clock counts CPU
 * time, and LuaJIT's and Lua 5.4's differ). Built per interpreter by
 * `make bench`; not part of sfn.
 *   require("benchclock").now()  -> nanoseconds, a float */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <time.h>

static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec * 1e9 + (lua_Number)ts.tv_nsec);
  return 1;
}

int luaopen_benchclock(lua_State *L);

int luaopen_benchclock(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_now);
  lua_setfield(L, -2, "now");
  return 1;
}

/* Version differences between Lua 5.1/LuaJIT and 5.2+ in one place.
 * We write against the 5.3 API; shims are sfn_-prefixed and #defined to the
 * standard names (never defining lua_* / luaL_* functions ourselves). */
#ifndef SFN_COMPAT_H
#define SFN_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#ifndef LUA_OK
#define LUA_OK 0
#endif
#ifndef luaL_newlib
#define luaL_newlibtable(L, l) lua_createtable((L), 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable((L), (l)), luaL_setfuncs((L), (l), 0))
#endif
#define lua_rawlen(L, i) lua_objlen((L), (i))
#define lua_absindex(L, i) sfn_absindex((L), (i))
#define luaL_setfuncs(L, l, n) sfn_setfuncs((L), (l), (n))
#define luaL_testudata(L, i, n) sfn_testudata((L), (i), (n))
#define luaL_setmetatable(L, n) sfn_setmetatable((L), (n))
#define lua_getuservalue(L, i) lua_getfenv((L), (i))
#define lua_setuservalue(L, i) lua_setfenv((L), (i))
int sfn_absindex(lua_State *L, int idx);
void sfn_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
void *sfn_testudata(lua_State *L, int idx, const char *tname);
void sfn_setmetatable(lua_State *L, const char *tname);
#endif

#endif

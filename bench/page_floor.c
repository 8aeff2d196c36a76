/* benchfloor: the least work any decoder must do to hand a ListMapRuns page
 * to Lua as tables: the same tables, made with the same C API calls and
 * sizes as src/fastpage.c, from values split out beforehand (no parsing).
 * Each mapRunArn becomes a new string, as it does from a body (its bytes
 * are kept in C, not as Lua strings LuaJIT would find interned); the
 * executionArn and stateMachineArn strings are reused, as the decoder's
 * shared strings are. Built per interpreter by `make bench-build`; not
 * part of sfn.
 *   local p = require("benchfloor").prepare(page)  -- e.g. cjson's page
 *   require("benchfloor").build(p)  -> a new page with the same runs */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#if LUA_VERSION_NUM >= 502
#define objlen lua_rawlen
#else
#define objlen lua_objlen
#endif

/* Distinct executionArn / stateMachineArn values a page may hold. */
#define SHARED_MAX 64

typedef struct run {
  int execution, state_machine; /* indexes into the shared strings */
  size_t map_run_arn;           /* offset in the prepared text */
  size_t map_run_arn_len;
  double start, stop;
  int has_stop;
} run;

typedef struct prepared {
  int n, shared;
  char *text; /* the mapRunArn bytes, after the runs */
  run runs[1];
} prepared;

/* The index of the string at the top among the shared strings (table at
 * index t, 1-based), adding it; pops it. */
static int shared_index(lua_State *L, int t, int *count) {
  int i;
  for (i = 1; i <= *count; i++) {
    lua_rawgeti(L, t, i);
    if (lua_rawequal(L, -1, -2)) {
      lua_pop(L, 2);
      return i;
    }
    lua_pop(L, 1);
  }
  luaL_argcheck(L, *count < SHARED_MAX, 1, "too many distinct ARNs");
  lua_rawseti(L, t, ++*count);
  return *count;
}

static int l_prepare(lua_State *L) {
  int i, n, runs, strings, count = 0;
  size_t text = 0, used = 0;
  prepared *p;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "mapRuns");
  runs = 2;
  n = (int)objlen(L, runs);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, runs, i);
    lua_getfield(L, -1, "mapRunArn");
    text += objlen(L, -1);
    lua_pop(L, 2);
  }
  p = (prepared *)lua_newuserdata(L, sizeof *p + (size_t)n * sizeof(run) + text);
  p->text = (char *)&p->runs[n];
  lua_newtable(L); /* the shared strings */
  strings = lua_gettop(L);
  for (i = 0; i < n; i++) {
    run *r = &p->runs[i];
    const char *s;
    lua_rawgeti(L, runs, i + 1);
    lua_getfield(L, -1, "executionArn");
    r->execution = shared_index(L, strings, &count);
    lua_getfield(L, -1, "stateMachineArn");
    r->state_machine = shared_index(L, strings, &count);
    lua_getfield(L, -1, "mapRunArn");
    s = lua_tolstring(L, -1, &r->map_run_arn_len);
    memcpy(p->text + used, s, r->map_run_arn_len);
    r->map_run_arn = used;
    used += r->map_run_arn_len;
    lua_pop(L, 1);
    lua_getfield(L, -1, "startDate");
    r->start = lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "stopDate");
    r->has_stop = !lua_isnil(L, -1);
    r->stop = lua_tonumber(L, -1);
    lua_pop(L, 2);
  }
#if LUA_VERSION_NUM >= 502
  lua_setuservalue(L, -2);
#else
  lua_setfenv(L, -2);
#endif
  p->n = n;
  p->shared = count;
  return 1;
}

static int l_build(lua_State *L) {
  static const char *const fields[] = {"executionArn", "mapRunArn",
                                       "stateMachineArn", "startDate",
                                       "stopDate", "mapRuns"};
  prepared *p = (prepared *)lua_touserdata(L, 1);
  int i, k, keys, shared;
  luaL_argcheck(L, p != NULL, 1, "prepared page expected");
  lua_settop(L, 1);
  luaL_checkstack(L, SHARED_MAX + 16, "floor");
  keys = 2;
  for (k = 0; k < 6; k++) lua_pushstring(L, fields[k]);
  shared = lua_gettop(L);
#if LUA_VERSION_NUM >= 502
  lua_getuservalue(L, 1);
#else
  lua_getfenv(L, 1);
#endif
  for (i = 1; i <= p->shared; i++) lua_rawgeti(L, shared + 1, i);
  lua_createtable(L, 0, 0); /* grown as the decoder grows it */
  for (i = 0; i < p->n; i++) {
    const run *r = &p->runs[i];
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, keys + 0);
    lua_pushvalue(L, shared + 1 + r->execution);
    lua_rawset(L, -3);
    lua_pushvalue(L, keys + 1);
    lua_pushlstring(L, p->text + r->map_run_arn, r->map_run_arn_len);
    lua_rawset(L, -3);
    lua_pushvalue(L, keys + 2);
    lua_pushvalue(L, shared + 1 + r->state_machine);
    lua_rawset(L, -3);
    lua_pushvalue(L, keys + 3);
    lua_pushnumber(L, (lua_Number)r->start);
    lua_rawset(L, -3);
    if (r->has_stop) {
      lua_pushvalue(L, keys + 4);
      lua_pushnumber(L, (lua_Number)r->stop);
      lua_rawset(L, -3);
    }
    lua_rawseti(L, -2, i + 1);
  }
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, keys + 5);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  return 1;
}

int luaopen_benchfloor(lua_State *L);

int luaopen_benchfloor(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_prepare);
  lua_setfield(L, -2, "prepare");
  lua_pushcfunction(L, l_build);
  lua_setfield(L, -2, "build");
  return 1;
}

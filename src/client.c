/* sfn.Client: one client's options, signing key cache, retry policy state
 * and libcurl connection (made on its first libcurl send, re-made after
 * fork by sfn.curl). The engine (engine.c) runs its calls. */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"

#define DEFAULT_MAX_REPLY_BYTES (16 * 1024 * 1024)

/* Option ranges: their one owner. core.limits shows them to sfn.config,
 * which names where a bad value came from. */
static const struct option_range {
  const char *name;
  double def, min, max;
} option_ranges[] = {
    {"max_attempts", 3, 1, 100},
    {"connect_timeout", 10, 0.001, 86400},
    {"timeout", 60, 0.001, 86400},
    {"max_reply_bytes", DEFAULT_MAX_REPLY_BYTES, 1024, 1 << 30},
};

/* The uservalue table holds the Lua values a client needs (credentials, the
 * sleep and log hooks): reachable only through the userdata, so cycles
 * through them can still be collected. */

sfn_client *sfn_client_check(lua_State *L, int idx) {
  sfn_client *c = luaL_testudata(L, idx, SFN_CLIENT_MT);
  if (c == NULL)
    sfn_error_raisef(L, "ValidationError",
                     "client: expected an sfn.Client, got %s (call methods "
                     "with ':')", luaL_typename(L, idx));
  if (c->closed) sfn_error_raisef(L, "ConfigError", "the client is closed");
  return c;
}

void sfn_client_push_option(lua_State *L, int client_idx, const char *name) {
  lua_getuservalue(L, client_idx);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* Releases the connection; strings stay until __gc (a call may sign). */
static void release_connection(sfn_client *c) {
  if (c->conn != NULL) c->curl->close(c->conn);
  c->conn = NULL;
  sfn_sigv4_cache_clear(&c->key);
}

static int l_client_gc(lua_State *L) {
  sfn_client *c = luaL_checkudata(L, 1, SFN_CLIENT_MT);
  release_connection(c);
  free(c->ca_file);
  free(c->user_agent);
  c->ca_file = c->user_agent = NULL;
  return 0;
}

/** Releases the connection now; later calls raise ConfigError.
 * @function close */
static int l_client_close(lua_State *L) {
  sfn_client *c = luaL_checkudata(L, 1, SFN_CLIENT_MT);
  release_connection(c);
  c->closed = 1;
  return 0;
}

void sfn_block_for(double seconds) {
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/** Monotonic seconds, for durations.
 * @function monotonic */
static int l_monotonic(lua_State *L) {
  lua_pushnumber(L, sfn_monotonic());
  return 1;
}

/** Blocks the thread for some seconds (the default sleep hook).
 * @function sleep */
static int l_sleep(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  if (seconds > 0 && seconds <= 3600) sfn_block_for(seconds);
  return 0;
}

/** Calls ListMapRuns once (with retries).
 * @function list_map_runs
 * @tparam table params { executionArn=, maxResults=?, nextToken=? }
 * @treturn table the page
 * @raise sfn.Error */
static int l_client_list_map_runs(lua_State *L) {
  sfn_client_check(L, 1);
  lua_settop(L, 2);
  sfn_client_fetch(L, 1, &sfn_op_list_map_runs, 2);
  return 1;
}

/** Calls an operation once (with retries).
 * @function call
 * @tparam string operation "ListMapRuns", "DescribeMapRun", "ListExecutions"
 * @tparam table params the operation's params
 * @treturn table the result
 * @raise sfn.Error */
static int l_client_call(lua_State *L) {
  const sfn_operation *op;
  sfn_client_check(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING ||
      (op = sfn_operation_find(lua_tostring(L, 2))) == NULL)
    sfn_error_raisef(L, "ValidationError", "call: unknown operation '%s'",
                     lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2)
                                                   : luaL_typename(L, 2));
  lua_settop(L, 3);
  sfn_client_fetch(L, 1, op, 3);
  return 1;
}

static const char *cfg_string(lua_State *L, int idx, const char *name,
                              int required) {
  const char *value;
  lua_getfield(L, idx, name);
  if ((lua_isnil(L, -1) && required) ||
      (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING))
    sfn_error_raisef(L, "ConfigError", "%s: expected a string, got %s", name,
                     luaL_typename(L, -1));
  value = lua_tostring(L, -1);
  lua_pop(L, 1); /* kept alive by cfg */
  return value;
}

/* A number option, checked against its range in option_ranges. */
static double cfg_number(lua_State *L, int idx, const char *name) {
  const struct option_range *r = option_ranges;
  double value;
  while (strcmp(r->name, name) != 0) r++;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TNUMBER)
    sfn_error_raisef(L, "ConfigError", "%s: expected a number, got %s", name,
                     luaL_typename(L, -1));
  value = lua_isnil(L, -1) ? r->def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(value >= r->min && value <= r->max))
    sfn_error_raisef(L, "ConfigError", "%s=%f: must be %f..%f", name,
                     (lua_Number)value, (lua_Number)r->min, (lua_Number)r->max);
  return value;
}

/* Copies an optional function option into the uservalue table. */
static void cfg_hook(lua_State *L, int cfg_idx, const char *name, int uv_idx) {
  lua_getfield(L, cfg_idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION)
    sfn_error_raisef(L, "ConfigError", "%s: expected a function, got %s", name,
                     luaL_typename(L, -1));
  lua_setfield(L, uv_idx, name);
}

static char *copy_string(lua_State *L, const char *s) {
  char *copy;
  if (s == NULL) return NULL;
  copy = strdup(s);
  if (copy == NULL) sfn_error_raisef(L, "ConfigError", "out of memory");
  return copy;
}

/** Makes a client.
 * @function new_client
 * @tparam table cfg { endpoint=, region=, credentials=table|function,
 *   max_attempts=3, connect_timeout=10, timeout=60, ca_file=, user_agent=,
 *   sleep=function(seconds), max_reply_bytes=16 MiB }
 * @treturn userdata sfn.Client
 * @raise ConfigError */
static int l_new_client(lua_State *L) {
  sfn_client *c;
  const char *region;
  int credentials_type;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  c = lua_newuserdata(L, sizeof *c); /* 2 */
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, SFN_CLIENT_MT);

  sfn_endpoint_parse(L, cfg_string(L, 1, "endpoint", 1), &c->endpoint);
  region = cfg_string(L, 1, "region", 1);
  if (region[0] == '\0' || strlen(region) >= sizeof c->region ||
      strpbrk(region, "/\r\n ") != NULL)
    sfn_error_raisef(L, "ConfigError", "region: '%s' is not a region name", region);
  strcpy(c->region, region);
  c->max_attempts = (int)cfg_number(L, 1, "max_attempts");
  c->connect_timeout_ms = (long)(cfg_number(L, 1, "connect_timeout") * 1000);
  c->timeout_ms = (long)(cfg_number(L, 1, "timeout") * 1000);
  c->reply_limit = (size_t)cfg_number(L, 1, "max_reply_bytes");
  c->ca_file = copy_string(L, cfg_string(L, 1, "ca_file", 0));
  c->user_agent = copy_string(L, cfg_string(L, 1, "user_agent", 0));

  lua_createtable(L, 0, 2); /* 3: the uservalue */
  lua_getfield(L, 1, "credentials");
  credentials_type = lua_type(L, -1);
  if (credentials_type != LUA_TTABLE && credentials_type != LUA_TFUNCTION)
    sfn_error_raisef(L, "ConfigError",
                     "credentials: expected a table or a function, got %s",
                     luaL_typename(L, -1));
  lua_setfield(L, 3, "credentials");
  cfg_hook(L, 1, "sleep", 3);
  cfg_hook(L, 1, "log", 3);
  lua_setuservalue(L, 2);
  {
    const char *mode = cfg_string(L, 1, "retry_mode", 0);
    if (mode != NULL && strcmp(mode, "standard") != 0 &&
        strcmp(mode, "adaptive") != 0)
      sfn_error_raisef(L, "ConfigError",
                       "retry_mode=%s: must be standard or adaptive", mode);
    lua_getfield(L, 1, "new_retries");
    sfn_retry_init(&c->retry, mode != NULL && strcmp(mode, "adaptive") == 0,
                   lua_toboolean(L, -1));
    lua_pop(L, 1);
  }
  return 1;
}

/* Readable options, for the Lua layer and tests. */
static int l_client_index(lua_State *L) {
  sfn_client *c = luaL_checkudata(L, 1, SFN_CLIENT_MT);
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "endpoint") == 0) lua_pushstring(L, c->endpoint.url);
  else if (strcmp(key, "region") == 0) lua_pushstring(L, c->region);
  else if (strcmp(key, "max_attempts") == 0) lua_pushinteger(L, c->max_attempts);
  else if (strcmp(key, "retry_quota") == 0) lua_pushinteger(L, c->retry.quota);
  else if (strcmp(key, "clock_offset") == 0) lua_pushinteger(L, (lua_Integer)c->retry.clock_offset);
  else if (strcmp(key, "retry_mode") == 0)
    lua_pushstring(L, c->retry.adaptive ? "adaptive" : "standard");
  else {
    luaL_getmetatable(L, SFN_CLIENT_MT);
    lua_getfield(L, -1, key);
  }
  return 1;
}

/* core.limits: { name = { min =, max = } } for every number option. */
static void push_limits(lua_State *L) {
  size_t i, n = sizeof option_ranges / sizeof option_ranges[0];
  lua_createtable(L, 0, (int)n);
  for (i = 0; i < n; i++) {
    lua_createtable(L, 0, 2);
    lua_pushnumber(L, option_ranges[i].min);
    lua_setfield(L, -2, "min");
    lua_pushnumber(L, option_ranges[i].max);
    lua_setfield(L, -2, "max");
    lua_setfield(L, -2, option_ranges[i].name);
  }
}

static const luaL_Reg client_methods[] = {
    {"list_map_runs", l_client_list_map_runs},
    {"call", l_client_call},
    {"close", l_client_close},
    {"__gc", l_client_gc},
#if LUA_VERSION_NUM >= 504
    {"__close", l_client_close},
#endif
    {"__index", l_client_index},
    {NULL, NULL}};

void sfn_client_open(lua_State *L) {
  luaL_newmetatable(L, SFN_CLIENT_MT);
  luaL_setfuncs(L, client_methods, 0);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new_client);
  lua_setfield(L, -2, "new_client");
  lua_pushcfunction(L, l_monotonic);
  lua_setfield(L, -2, "monotonic");
  lua_pushcfunction(L, l_sleep);
  lua_setfield(L, -2, "sleep");
  push_limits(L);
  lua_setfield(L, -2, "limits");
}

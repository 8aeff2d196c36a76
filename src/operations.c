/* The operations sfn calls (see operations.h), and the reply decoding the
 * Lua driver asks for by operation name. */
#include "operations.h"

#include <string.h>
#include <strings.h>

#include "errors.h"
#include "request.h"

static void list_map_runs_body(lua_State *L, int params_idx) {
  sfn_params params;
  sfn_params_check(L, params_idx, &params);
  sfn_params_push_body(L, &params);
}

static const sfn_paginator list_map_runs_pages = {"mapRuns", "nextToken",
                                                  "maxResults", 1024};

const sfn_operation sfn_op_list_map_runs = {
    "ListMapRuns", "AWSStepFunctions.ListMapRuns", list_map_runs_body,
    sfn_reply_decode, &list_map_runs_pages};

static const sfn_operation *const operations[] = {
    &sfn_op_list_map_runs, &sfn_op_describe_map_run, &sfn_op_list_executions};

const sfn_operation *sfn_operation_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof operations / sizeof operations[0]; i++)
    if (strcmp(operations[i]->name, name) == 0) return operations[i];
  return NULL;
}

void sfn_operation_name_error(lua_State *L, int idx, const sfn_operation *op) {
  if (!sfn_error_is(L, idx)) return;
  idx = lua_absindex(L, idx);
  lua_pushstring(L, op->name);
  lua_setfield(L, idx, "operation");
}

/* One header value: a string, or the first of a list of strings. */
static const char *header_value(lua_State *L, int idx, const char *name) {
  if (lua_type(L, idx) == LUA_TSTRING) return lua_tostring(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    const char *s;
    lua_rawgeti(L, idx, 1);
    s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* still anchored by the headers table */
    if (s != NULL) return s;
  }
  sfn_error_raisef(L, "ValidationError",
                   "decode_reply: header %s must be a string, got %s", name,
                   luaL_typename(L, idx));
  return NULL;
}

/** Decodes an HTTP reply of an operation, as core.decode_reply does for
 * ListMapRuns (the same checks of the arguments a transport returned).
 * @function decode_operation_reply
 * @tparam string operation "ListMapRuns", "DescribeMapRun", "ListExecutions"
 * @tparam integer status @tparam[opt] table headers
 * @tparam[opt] string body @tparam[opt] string reason
 * @treturn table the result
 * @raise sfn.Error */
static int l_decode_operation_reply(lua_State *L) {
  const sfn_operation *op;
  sfn_reply r;
  lua_Number status;
  if (lua_type(L, 1) != LUA_TSTRING ||
      (op = sfn_operation_find(lua_tostring(L, 1))) == NULL)
    return sfn_error_raisef(L, "ValidationError",
                            "decode_operation_reply: unknown operation");
  if (op == &sfn_op_list_map_runs) { /* reply.c's own entry point */
    lua_settop(L, 5);
    lua_getfield(L, lua_upvalueindex(1), "decode_reply");
    lua_replace(L, 1);
    lua_call(L, 4, 1);
    return 1;
  }
  memset(&r, 0, sizeof r);
  if (lua_type(L, 2) != LUA_TNUMBER)
    return sfn_error_raisef(L, "ValidationError",
                            "decode_reply: status must be an integer, got %s",
                            luaL_typename(L, 2));
  status = lua_tonumber(L, 2);
  if (!(status >= 100 && status <= 599) || status != (lua_Number)(long)status)
    return sfn_error_raisef(
        L, "ValidationError",
        "decode_reply: status must be an HTTP status code (100..599)");
  r.status = (long)status;
  if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TTABLE)
    return sfn_error_raisef(L, "ValidationError",
                            "decode_reply: headers must be a table, got %s",
                            luaL_typename(L, 3));
  if (lua_isnoneornil(L, 4)) {
    r.body = "";
  } else if (lua_type(L, 4) == LUA_TSTRING) {
    r.body = lua_tolstring(L, 4, &r.body_len);
  } else {
    return sfn_error_raisef(L, "ValidationError",
                            "decode_reply: body must be a string, got %s",
                            luaL_typename(L, 4));
  }
  if (!lua_isnoneornil(L, 5)) {
    if (lua_type(L, 5) != LUA_TSTRING)
      return sfn_error_raisef(L, "ValidationError",
                              "decode_reply: reason must be a string, got %s",
                              luaL_typename(L, 5));
    r.reason = lua_tostring(L, 5);
  }
  lua_settop(L, 5);
  if (lua_type(L, 3) == LUA_TTABLE) {
    luaL_checkstack(L, 4, "sfn reply headers");
    lua_pushnil(L);
    while (lua_next(L, 3) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        const char *name = lua_tostring(L, -2);
        if (strcasecmp(name, "x-amzn-requestid") == 0)
          r.request_id = header_value(L, -1, name);
        else if (strcasecmp(name, "x-amzn-errortype") == 0)
          r.error_type = header_value(L, -1, name);
        else if (strcasecmp(name, "content-type") == 0)
          r.content_type = header_value(L, -1, name);
      }
      lua_pop(L, 1);
    }
  }
  if (!op->decode(L, &r)) {
    sfn_operation_name_error(L, -1, op);
    return sfn_error_throw(L);
  }
  return 1;
}

void sfn_operations_open(lua_State *L) {
  lua_pushvalue(L, -1); /* the module: decode_reply is found there */
  lua_pushcclosure(L, l_decode_operation_reply, 1);
  lua_setfield(L, -2, "decode_operation_reply");
}

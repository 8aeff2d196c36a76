/* The operations sfn calls (see operations.h), and the reply decoding the
 * Lua driver asks for by operation name. */
#include "operations.h"

#include <string.h>

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
  if (lua_type(L, 1) != LUA_TSTRING ||
      (op = sfn_operation_find(lua_tostring(L, 1))) == NULL)
    return sfn_error_raisef(L, "ValidationError",
                            "decode_operation_reply: unknown operation");
  lua_settop(L, 5);
  sfn_reply_read_args(L, 2, &r);
  if (!op->decode(L, &r)) {
    sfn_operation_name_error(L, -1, op);
    return sfn_error_throw(L);
  }
  return 1;
}

void sfn_operations_open(lua_State *L) {
  lua_pushcfunction(L, l_decode_operation_reply);
  lua_setfield(L, -2, "decode_operation_reply");
}

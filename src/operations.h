/* Operations as descriptors: what the engine needs to know about one
 * awsJson1_0 operation. Adding an operation means a descriptor here, not
 * another loop. */
#ifndef SFN_OPERATIONS_H
#define SFN_OPERATIONS_H

#include "compat.h"
#include "reply.h"

/* How an operation pages, as botocore's paginators-1.json says, for the
 * sfn.Pager (pager.c). */
typedef struct sfn_paginator {
  const char *result_key;  /* the array of items: "mapRuns", "executions" */
  const char *input_token; /* "nextToken" */
  const char *limit_key;   /* "maxResults" (pagination.page_size) */
  int token_chars;         /* the model's limit on nextToken, in characters */
} sfn_paginator;

typedef struct sfn_operation {
  const char *name;   /* "ListMapRuns": errors' `operation`, log records */
  const char *target; /* the X-Amz-Target header */
  /* Checks the params table at params_idx against the service model
   * (raising a ValidationError naming the field) and pushes the JSON
   * body. */
  void (*push_body)(lua_State *L, int params_idx);
  /* Pushes the decoded result and returns 1, or pushes an sfn.Error (not
   * raised) and returns 0. */
  int (*decode)(lua_State *L, const sfn_reply *reply);
  /* NULL: the operation does not page. */
  const sfn_paginator *paginator;
} sfn_operation;

extern const sfn_operation sfn_op_list_map_runs;
extern const sfn_operation sfn_op_describe_map_run; /* describe_map_run.c */
extern const sfn_operation sfn_op_list_executions;  /* list_executions.c */

/* The operation named name, or NULL. */
const sfn_operation *sfn_operation_find(const char *name);

/* Sets the `operation` field of the sfn.Error at idx to op's name (other
 * values are left alone). */
void sfn_operation_name_error(lua_State *L, int idx, const sfn_operation *op);

/* Registers core.decode_operation_reply(operation, status, headers, body
 * [, reason]) on the module table at the top of the stack. */
void sfn_operations_open(lua_State *L);

#endif

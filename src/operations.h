/* Operations as descriptors: what the engine needs to know about one
 * awsJson1_0 operation. Adding an operation means a descriptor here, not
 * another loop. */
#ifndef SFN_OPERATIONS_H
#define SFN_OPERATIONS_H

#include "compat.h"
#include "reply.h"

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
} sfn_operation;

extern const sfn_operation sfn_op_list_map_runs;

/* The operation named name, or NULL. */
const sfn_operation *sfn_operation_find(const char *name);

#endif

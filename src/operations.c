/* The operations sfn calls (see operations.h). */
#include "operations.h"

#include <string.h>

#include "request.h"

static void list_map_runs_body(lua_State *L, int params_idx) {
  sfn_params params;
  sfn_params_check(L, params_idx, &params);
  sfn_params_push_body(L, &params);
}

const sfn_operation sfn_op_list_map_runs = {
    "ListMapRuns", "AWSStepFunctions.ListMapRuns", list_map_runs_body,
    sfn_reply_decode};

static const sfn_operation *const operations[] = {&sfn_op_list_map_runs};

const sfn_operation *sfn_operation_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof operations / sizeof operations[0]; i++)
    if (strcmp(operations[i]->name, name) == 0) return operations[i];
  return NULL;
}

/* ListExecutions: the executions of a state machine or, with mapRunArn, a
 * Map Run's child executions. The model (botocore's stepfunctions
 * 2016-11-23 service-2.json) as data for shape.c:
 *   input   stateMachineArn (Arn, 1..256), statusFilter (ExecutionStatus),
 *           maxResults (PageSize, 0..1000), nextToken
 *           (ListExecutionsPageToken, 1..3096), mapRunArn (LongArn,
 *           1..2000), redriveFilter (ExecutionRedriveFilter)
 *   rules   (the members' documentation) stateMachineArn or mapRunArn, not
 *           both; redriveFilter only with mapRunArn
 *   output  ListExecutionsOutput, ExecutionListItem
 *   paging  paginators-1.json: executions / nextToken / maxResults */
#include "errors.h"
#include "operations.h"
#include "shape.h"

static const char *const statuses[] = {"RUNNING",   "SUCCEEDED", "FAILED",
                                       "TIMED_OUT", "ABORTED",
                                       "PENDING_REDRIVE", NULL};
static const char *const redrive_filters[] = {"REDRIVEN", "NOT_REDRIVEN",
                                              NULL};

enum { M_STATE_MACHINE, M_STATUS, M_MAX_RESULTS, M_TOKEN, M_MAP_RUN,
       M_REDRIVE };

static const sfn_member input_members[] = {
    {"stateMachineArn", SFN_IN_STRING, 1, 256, NULL},
    {"statusFilter", SFN_IN_ENUM, 0, 0, statuses},
    {"maxResults", SFN_IN_INTEGER, 0, 1000, NULL},
    {"nextToken", SFN_IN_STRING, 1, 3096, NULL},
    {"mapRunArn", SFN_IN_STRING, 1, 2000, NULL},
    {"redriveFilter", SFN_IN_ENUM, 0, 0, redrive_filters},
};

static void input_rules(lua_State *L, const int *present) {
  if (present[M_STATE_MACHINE] && present[M_MAP_RUN])
    sfn_error_raisef(L, "ValidationError",
                     "params: stateMachineArn and mapRunArn cannot be given "
                     "together");
  if (!present[M_STATE_MACHINE] && !present[M_MAP_RUN])
    sfn_error_raisef(L, "ValidationError",
                     "params: stateMachineArn or mapRunArn is required");
  if (present[M_REDRIVE] && !present[M_MAP_RUN])
    sfn_error_raisef(L, "ValidationError",
                     "redriveFilter: only with mapRunArn");
}

static const sfn_input_model input = {
    input_members, sizeof input_members / sizeof input_members[0],
    "stateMachineArn, mapRunArn, statusFilter, redriveFilter, maxResults, "
    "nextToken",
    input_rules};

static const sfn_field item_fields[] = {
    {"executionArn", SFN_OUT_STRING, 1, NULL},
    {"stateMachineArn", SFN_OUT_STRING, 1, NULL},
    {"name", SFN_OUT_STRING, 1, NULL},
    {"status", SFN_OUT_STRING, 1, NULL},
    {"startDate", SFN_OUT_DATE, 1, NULL},
    {"stopDate", SFN_OUT_DATE, 0, NULL},
    {"mapRunArn", SFN_OUT_STRING, 0, NULL},
    {"itemCount", SFN_OUT_INTEGER, 0, NULL},
    {"stateMachineVersionArn", SFN_OUT_STRING, 0, NULL},
    {"stateMachineAliasArn", SFN_OUT_STRING, 0, NULL},
    {"redriveCount", SFN_OUT_INTEGER, 0, NULL},
    {"redriveDate", SFN_OUT_DATE, 0, NULL},
};

static const sfn_shape item = {item_fields,
                               sizeof item_fields / sizeof item_fields[0]};

static const sfn_field output_fields[] = {
    {"executions", SFN_OUT_LIST, 1, &item},
    {"nextToken", SFN_OUT_TOKEN, 0, NULL},
};

static const sfn_shape output = {output_fields,
                                 sizeof output_fields / sizeof output_fields[0]};

static const sfn_paginator pages = {"executions", "nextToken", "maxResults",
                                    3096};

static void push_body(lua_State *L, int params_idx) {
  sfn_input_push_body(L, params_idx, &input);
}

static int decode(lua_State *L, const sfn_reply *reply) {
  return sfn_shape_decode(L, reply, &output);
}

const sfn_operation sfn_op_list_executions = {
    "ListExecutions", "AWSStepFunctions.ListExecutions", push_body, decode,
    &pages};

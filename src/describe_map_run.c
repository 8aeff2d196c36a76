/* DescribeMapRun: one Map Run's status, counts and limits. The model
 * (botocore's stepfunctions 2016-11-23 service-2.json) as data for shape.c:
 *   input   mapRunArn (LongArn, 1..2000 characters, required)
 *   output  DescribeMapRunOutput, MapRunItemCounts, MapRunExecutionCounts */
#include "errors.h"
#include "operations.h"
#include "shape.h"

static const sfn_member input_members[] = {
    {"mapRunArn", SFN_IN_STRING, 1, 2000, NULL},
};

static void input_rules(lua_State *L, const int *present) {
  if (!present[0])
    sfn_error_raisef(L, "ValidationError", "mapRunArn: required");
}

static const sfn_input_model input = {input_members, 1, "mapRunArn",
                                      input_rules};

/* MapRunItemCounts and MapRunExecutionCounts have the same members. */
static const sfn_field count_fields[] = {
    {"pending", SFN_OUT_INTEGER, 1, NULL},
    {"running", SFN_OUT_INTEGER, 1, NULL},
    {"succeeded", SFN_OUT_INTEGER, 1, NULL},
    {"failed", SFN_OUT_INTEGER, 1, NULL},
    {"timedOut", SFN_OUT_INTEGER, 1, NULL},
    {"aborted", SFN_OUT_INTEGER, 1, NULL},
    {"total", SFN_OUT_INTEGER, 1, NULL},
    {"resultsWritten", SFN_OUT_INTEGER, 1, NULL},
    {"failuresNotRedrivable", SFN_OUT_INTEGER, 0, NULL},
    {"pendingRedrive", SFN_OUT_INTEGER, 0, NULL},
};

static const sfn_shape counts = {count_fields,
                                 sizeof count_fields / sizeof count_fields[0]};

static const sfn_field output_fields[] = {
    {"mapRunArn", SFN_OUT_STRING, 1, NULL},
    {"executionArn", SFN_OUT_STRING, 1, NULL},
    {"status", SFN_OUT_STRING, 1, NULL},
    {"startDate", SFN_OUT_DATE, 1, NULL},
    {"stopDate", SFN_OUT_DATE, 0, NULL},
    {"maxConcurrency", SFN_OUT_INTEGER, 1, NULL},
    {"toleratedFailurePercentage", SFN_OUT_NUMBER, 1, NULL},
    {"toleratedFailureCount", SFN_OUT_INTEGER, 1, NULL},
    {"itemCounts", SFN_OUT_OBJECT, 1, &counts},
    {"executionCounts", SFN_OUT_OBJECT, 1, &counts},
    {"redriveCount", SFN_OUT_INTEGER, 0, NULL},
    {"redriveDate", SFN_OUT_DATE, 0, NULL},
};

static const sfn_shape output = {output_fields,
                                 sizeof output_fields / sizeof output_fields[0]};

static void push_body(lua_State *L, int params_idx) {
  sfn_input_push_body(L, params_idx, &input);
}

static int decode(lua_State *L, const sfn_reply *reply) {
  return sfn_shape_decode(L, reply, &output);
}

const sfn_operation sfn_op_describe_map_run = {
    "DescribeMapRun", "AWSStepFunctions.DescribeMapRun", push_body, decode,
    NULL};

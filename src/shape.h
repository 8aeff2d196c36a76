/* Operation models as data: the input members an operation takes (checked
 * before any I/O, then written as the awsJson1_0 body) and the output shape
 * its replies are converted along. An operation file (describe_map_run.c,
 * list_executions.c) is a pair of these tables, not code. */
#ifndef SFN_SHAPE_H
#define SFN_SHAPE_H

#include <stddef.h>

#include "compat.h"
#include "reply.h"

/* ---- input ------------------------------------------------------------ */

typedef enum sfn_member_kind {
  SFN_IN_STRING,  /* min..max characters of strict UTF-8, no NUL */
  SFN_IN_INTEGER, /* an integer in min..max (integral floats too) */
  SFN_IN_ENUM     /* one of values */
} sfn_member_kind;

typedef struct sfn_member {
  const char *name; /* wire name, the params key */
  sfn_member_kind kind;
  long min, max;
  const char *const *values; /* SFN_IN_ENUM: NULL-terminated */
} sfn_member;

typedef struct sfn_input_model {
  const sfn_member *members;
  size_t count;
  const char *expected; /* the member names, for an unknown key's message */
  /* Rules across members (required ones included), given which members
   * are present (present[i] for members[i]); raises a ValidationError. */
  void (*rules)(lua_State *L, const int *present);
} sfn_input_model;

#define SFN_MAX_MEMBERS 8

/* Checks the params table at params_idx against the model (a
 * ValidationError naming the member) and pushes the compact JSON body
 * holding the members given, in model order. */
void sfn_input_push_body(lua_State *L, int params_idx,
                         const sfn_input_model *model);

/* ---- output ----------------------------------------------------------- */

typedef enum sfn_field_kind {
  SFN_OUT_STRING,
  SFN_OUT_TOKEN,   /* a string; an empty one is left out (ends paging) */
  SFN_OUT_DATE,    /* epoch seconds, fraction kept */
  SFN_OUT_INTEGER, /* a JSON number, kept as an integer when integral */
  SFN_OUT_NUMBER,  /* a JSON number */
  SFN_OUT_OBJECT,  /* a structure: sub */
  SFN_OUT_LIST     /* an array of structures: sub */
} sfn_field_kind;

struct sfn_shape;

typedef struct sfn_field {
  const char *name; /* wire name, the result key */
  sfn_field_kind kind;
  int required;
  const struct sfn_shape *sub;
} sfn_field;

typedef struct sfn_shape {
  const sfn_field *fields;
  size_t count;
} sfn_shape;

/* Decodes a reply along shape: pushes the result (with ResponseMetadata)
 * and returns 1, or pushes an sfn.Error and returns 0. Error replies and
 * bodies that are not JSON are decoded as every operation's are
 * (sfn_reply_decode); a JSON body not of the shape is a ResponseError
 * naming the member. Raises only on memory errors, leaking nothing. */
int sfn_shape_decode(lua_State *L, const sfn_reply *reply,
                     const sfn_shape *shape);

#endif

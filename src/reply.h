/* Turns a ListMapRuns HTTP reply into a page table or an sfn.Error. */
#ifndef SFN_REPLY_H
#define SFN_REPLY_H

#include <stddef.h>

#include "compat.h"

typedef struct sfn_reply {
  long status;
  const char *reason;       /* reason phrase, or NULL */
  const char *request_id;   /* x-amzn-RequestId, or NULL */
  const char *error_type;   /* X-Amzn-Errortype, or NULL */
  const char *content_type; /* Content-Type, or NULL */
  const char *date;         /* Date, or NULL: the server's clock */
  const char *retry_after;  /* x-amz-retry-after (milliseconds), or NULL */
  const char *body;
  size_t body_len;
} sfn_reply;

/* A parsed cJSON tree held by a userdata, so that it is freed even when
 * building the Lua result raises. */
typedef struct sfn_json_tree {
  struct cJSON *json;
} sfn_json_tree;

/* Pushes an empty holder; parse into it only after this returns. */
sfn_json_tree *sfn_json_tree_push(lua_State *L);

/* Frees the tree now; safe to call again (its __gc runs later). */
void sfn_json_tree_free(sfn_json_tree *t);

/* Reads a transport's reply from the Lua values status, headers, body,
 * reason at first .. first + 3 (header values point into the headers
 * table, which must stay reachable); raises a ValidationError for a value
 * of the wrong type. */
void sfn_reply_read_args(lua_State *L, int first, sfn_reply *r);

/* Pushes the page table and returns 1, or pushes an sfn.Error (not raised)
 * and returns 0. Raises only on memory errors, leaking nothing. */
int sfn_reply_decode(lua_State *L, const sfn_reply *reply);

/* Registers core.decode_reply(status, headers, body [, reason]). */
void sfn_reply_open(lua_State *L);

#endif

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
  const char *body;
  size_t body_len;
} sfn_reply;

/* Pushes the page table and returns 1, or pushes an sfn.Error (not raised)
 * and returns 0. Raises only on memory errors, leaking nothing. */
int sfn_reply_decode(lua_State *L, const sfn_reply *reply);

/* Registers core.decode_reply(status, headers, body [, reason]). */
void sfn_reply_open(lua_State *L);

#endif

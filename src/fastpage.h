/* The fast path of the reply decoder: plain ListMapRuns pages in one pass,
 * straight into Lua tables. src/reply.c tries it before cJSON. */
#ifndef SFN_FASTPAGE_H
#define SFN_FASTPAGE_H

#include <stddef.h>

#include "compat.h"

/* The page's key strings, pushed once per decode by reply.c in this order
 * and reused with lua_pushvalue by both decoders: the key K_x is at stack
 * index keys + K_x, so the per-item keys are never re-hashed. */
enum {
  K_EXECUTION_ARN,
  K_MAP_RUN_ARN,
  K_STATE_MACHINE_ARN,
  K_START_DATE,
  K_STOP_DATE,
  K_ITEM_FIELDS, /* the five above are the item's fields, in this order */
  K_MAP_RUNS = K_ITEM_FIELDS,
  K_NEXT_TOKEN,
  K_RESPONSE_METADATA,
  K_COUNT
};

/* Decodes body[0, len) when it is a page the fast path fully understands
 * (src/fastpage.c says which): pushes the page table, holding mapRuns and
 * the nextToken if it is not empty, exactly as reply.c's cJSON path builds
 * them, and returns 1. Otherwise returns 0 with the stack as it was, and
 * the caller decodes the body with cJSON. keys is the stack index of the
 * key strings (K_ order). Raises only memory errors, and holds no memory
 * but Lua's, so a raise leaks nothing. */
int sfn_fastpage_decode(lua_State *L, const char *body, size_t len, int keys);

#endif

/* sfn.Pager: boto3-style pagination state (max_items, page_size,
 * starting_token, resume tokens) and the iterator closures over it. */
#ifndef SFN_PAGER_H
#define SFN_PAGER_H

#include "compat.h"

#define SFN_PAGER_MT "sfn.Pager"

/* Registers core.new_pager, core.encode_token, core.decode_token, and the
 * sfn.Client methods pages / items (needs the sfn.Client metatable). */
void sfn_pager_open(lua_State *L);

#endif

/* sfn.Client: per-client state (libcurl handle, options, signing key cache)
 * and the ListMapRuns call with its retry loop. */
#ifndef SFN_CLIENT_H
#define SFN_CLIENT_H

#include "compat.h"

#define SFN_CLIENT_MT "sfn.Client"

/* Calls ListMapRuns through the client at client_idx with the params table
 * at params_idx (every attempt included); pushes the page or raises the
 * sfn.Error of the last attempt. */
void sfn_client_fetch(lua_State *L, int client_idx, int params_idx);

/* Creates the sfn.Client metatable; registers core.new_client,
 * core.monotonic and core.sleep on the module table at the top of the stack. */
void sfn_client_open(lua_State *L);

#endif

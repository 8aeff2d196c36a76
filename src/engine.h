/* The engine: one call of an operation (operations.h) as a sans-I/O state
 * machine, the same for every transport. It validates, asks for
 * credentials, signs, decides retries (quota, rate limiter, clock skew,
 * ttl, the one credentials refresh), redacts, counts attempts and writes
 * the log record; a driver only carries out its actions:
 *
 *   CREDENTIALS  fetch credentials (refreshed when asked), hand them back
 *   SLEEP        wait sfn_call_delay() seconds
 *   SEND         send the request, hand back the reply or the failure
 *   DONE / FAIL  the page / the sfn.Error is on top of the stack
 *
 * Drivers: the libcurl driver in C (curl_driver.c) and, through the
 * sfn.Call methods, the Lua driver for cosockets and function transports
 * (lua/sfn/driver.lua). */
#ifndef SFN_ENGINE_H
#define SFN_ENGINE_H

#include "compat.h"
#include "operations.h"
#include "reply.h"
#include "request.h"

#define SFN_CALL_MT "sfn.Call"

typedef enum sfn_action {
  SFN_ACT_CREDENTIALS,
  SFN_ACT_SLEEP,
  SFN_ACT_SEND,
  SFN_ACT_DONE,
  SFN_ACT_FAIL
} sfn_action;

typedef struct sfn_call sfn_call;

/* Checks the params table at params_idx against the operation's model
 * (ValidationError before anything else) and pushes a new sfn.Call of op
 * on the sfn.Client at client_idx. */
sfn_call *sfn_call_new(lua_State *L, int client_idx, const sfn_operation *op,
                       int params_idx);

/* Names the transport that carries the call out (a static string: "curl",
 * the default, "ngx" or "function"), for the User-Agent. */
void sfn_call_set_transport(sfn_call *call, const char *transport);

/* The next action. DONE and FAIL push the page or the error. */
sfn_action sfn_call_next(lua_State *L, sfn_call *call, int call_idx);

/* CREDENTIALS: whether a refresh is wanted. SLEEP: the seconds. */
int sfn_call_force_refresh(const sfn_call *call);
double sfn_call_delay(const sfn_call *call);

/* SEND: the headers to send (valid until the call's next action). */
const sfn_signed_headers *sfn_call_headers(const sfn_call *call);

/* Pushes the request body (a string). */
void sfn_call_push_body(lua_State *L, int call_idx);

/* Answers CREDENTIALS: ok and the credentials table at value_idx, or not
 * ok and the error the credentials source raised. */
void sfn_call_credentials(lua_State *L, sfn_call *call, int call_idx, int ok,
                          int value_idx);

/* Answers SEND with a reply (its Date and x-amz-retry-after included). The
 * call owns owned_body (malloc'd, may be NULL) while it decodes and settles
 * (its __gc frees it should either raise) and then gives it back. */
char *sfn_call_reply(lua_State *L, sfn_call *call, int call_idx,
                     const sfn_reply *reply, char *owned_body);

/* Answers SEND with the transport's sfn.Error on top of the stack (popped). */
void sfn_call_transport_error(lua_State *L, sfn_call *call, int call_idx);

/* Registers the sfn.Call metatable and core.call(client, params [, op]). */
void sfn_engine_open(lua_State *L);

#endif

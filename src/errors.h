/* Structured errors: tables with the "sfn.Error" metatable (see API.md). */
#ifndef SFN_ERRORS_H
#define SFN_ERRORS_H

#include "compat.h"

#define SFN_ERROR_MT "sfn.Error"
#define SFN_OPERATION "ListMapRuns"

/* Pushes a new sfn.Error table. status <= 0 and request_id NULL leave the
 * field absent; attempts starts at 1 for errors from a reply, 0 otherwise. */
void sfn_error_push(lua_State *L, const char *code, const char *message,
                    int status, const char *request_id, int retryable,
                    int attempts);

/* Pushes an sfn.Error with a formatted message (lua_pushfstring formats)
 * and no status, then raises it. Never returns. */
int sfn_error_raisef(lua_State *L, const char *code, const char *fmt, ...);

/* Raises the value on top of the stack. Never returns. */
int sfn_error_throw(lua_State *L);

/* Whether the value at idx is an sfn.Error. */
int sfn_error_is(lua_State *L, int idx);

/* Whether a service error code or HTTP status says "slow down". */
int sfn_error_code_throttling(const char *code);

/* Whether a service error code or HTTP status is worth another attempt. */
int sfn_error_code_retryable(const char *code, int status);

/* Creates the metatable; sets core.Error and core.is_error on the module
 * table at the top of the stack. */
void sfn_errors_open(lua_State *L);

#endif

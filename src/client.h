/* sfn.Client: one client's options, signing key cache, retry policy state
 * and (once it sends through libcurl) its connection. */
#ifndef SFN_CLIENT_H
#define SFN_CLIENT_H

#include "compat.h"
#include "curl_api.h"
#include "operations.h"
#include "request.h"
#include "retry.h"
#include "sigv4.h"

#define SFN_CLIENT_MT "sfn.Client"

typedef struct sfn_client {
  sfn_sigv4_cache key;
  sfn_endpoint endpoint;
  char region[64];
  char *ca_file;         /* NULL: the system store */
  char *user_agent;      /* freed by __gc only: a call may still sign */
  long connect_timeout_ms;
  long timeout_ms;
  size_t reply_limit;
  sfn_retry retry;
  int max_attempts;
  int closed;
  const sfn_curl_api *curl; /* sfn.curl, once a libcurl send needs it */
  sfn_curl_conn *conn;
} sfn_client;

/* The open sfn.Client at idx; raises ConfigError when closed, and a
 * ValidationError when idx holds something else. */
sfn_client *sfn_client_check(lua_State *L, int idx);

/* Pushes the client's hook (the `credentials`, `sleep` or `log` option);
 * nil when unset. */
void sfn_client_push_option(lua_State *L, int client_idx, const char *name);

/* Blocks the thread for some seconds (EINTR resumes the wait): the
 * default sleep, core.sleep. */
void sfn_block_for(double seconds);

/* Calls op through the client at client_idx with the params table at
 * params_idx over libcurl (curl_driver.c); pushes the result or raises the
 * sfn.Error of the last attempt. */
void sfn_client_fetch(lua_State *L, int client_idx, const sfn_operation *op,
                      int params_idx);

/* Creates the sfn.Client metatable; registers core.new_client,
 * core.monotonic, core.sleep and core.limits on the module table at the top
 * of the stack. */
void sfn_client_open(lua_State *L);

#endif

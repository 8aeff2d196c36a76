/* The libcurl driver: runs the engine's actions (engine.h) from C, so that
 * client:list_map_runs and the iterator closures stay C functions. libcurl
 * itself lives in sfn.curl, required the first time a client sends. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "curl_api.h"
#include "engine.h"
#include "errors.h"

/* Answers CREDENTIALS with the `credentials` option: a table, or what the
 * function returns for (force_refresh). */
static void fetch_credentials(lua_State *L, sfn_call *call, int client_idx,
                              int call_idx) {
  int status;
  sfn_client_push_option(L, client_idx, "credentials");
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    sfn_call_credentials(L, call, call_idx, 1, -1);
    return;
  }
  lua_pushboolean(L, sfn_call_force_refresh(call));
  status = lua_pcall(L, 1, 1, 0);
  if (status == LUA_ERRMEM) lua_error(L);
  sfn_call_credentials(L, call, call_idx, status == LUA_OK, -1);
}

/* Waits through the `sleep` option when set, else blocks the thread. A
 * hook that raises (or yields, which a C caller cannot allow) fails the
 * call with a ConfigError; its own sfn.Error passes through. */
static void pause_for(lua_State *L, int client_idx, double seconds) {
  sfn_client_push_option(L, client_idx, "sleep");
  if (lua_type(L, -1) == LUA_TFUNCTION) {
    int status;
    lua_pushnumber(L, seconds);
    status = lua_pcall(L, 1, 0, 0);
    if (status == LUA_OK) return;
    if (status == LUA_ERRMEM || sfn_error_is(L, -1)) lua_error(L);
    sfn_error_raisef(L, "ConfigError", "the sleep option failed: %s",
                     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                    : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  sfn_block_for(seconds);
}

/* The client's connection, requiring sfn.curl on first use; pushes a
 * non-retryable TransportError and returns NULL when it cannot. */
static sfn_curl_conn *connection(lua_State *L, sfn_client *c) {
  if (c->curl == NULL) {
    const sfn_curl_api *api = NULL;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "sfn.curl");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
      lua_getfield(L, -1, "_api");
      api = lua_touserdata(L, -1);
      lua_pop(L, 1);
    }
    if (api == NULL || api->version != SFN_CURL_API_VERSION) {
      lua_pushfstring(L, "the libcurl transport (sfn.curl) is unavailable: %s",
                      lua_isstring(L, -1) ? lua_tostring(L, -1)
                                          : "wrong version");
      sfn_error_push(L, "TransportError", lua_tostring(L, -1), 0, NULL, 0, 1);
      lua_replace(L, -3);
      lua_pop(L, 1);
      return NULL;
    }
    lua_pop(L, 1);
    c->curl = api;
  }
  if (c->conn == NULL) {
    sfn_curl_options options;
    options.connect_timeout_ms = c->connect_timeout_ms;
    options.timeout_ms = c->timeout_ms;
    options.ca_file = c->ca_file;
    options.reply_limit = c->reply_limit;
    c->conn = c->curl->open(&options);
    if (c->conn == NULL) {
      sfn_error_push(L, "TransportError", "out of memory", 0, NULL, 0, 1);
      return NULL;
    }
  }
  return c->conn;
}

/* Answers SEND: one POST over the client's connection. */
static void send_request(lua_State *L, sfn_call *call, sfn_client *c,
                         int call_idx) {
  const sfn_signed_headers *h = sfn_call_headers(call);
  sfn_curl_conn *conn = connection(L, c);
  sfn_curl_reply got;
  sfn_reply reply;
  const char *body;
  char *body_buffer;
  size_t body_len;
  if (conn == NULL) {
    sfn_call_transport_error(L, call, call_idx);
    return;
  }
  sfn_call_push_body(L, call_idx);
  body = lua_tolstring(L, -1, &body_len);
  if (!c->curl->post(L, conn, c->endpoint.url, h->list, h->count, body,
                     body_len, &got)) {
    lua_remove(L, -2);
    sfn_call_transport_error(L, call, call_idx);
    return;
  }
  lua_pop(L, 1);
  memset(&reply, 0, sizeof reply);
  reply.status = got.status;
  reply.reason = got.reason;
  reply.request_id = got.request_id;
  reply.error_type = got.error_type;
  reply.content_type = got.content_type;
  reply.date = got.date;
  reply.retry_after = got.retry_after;
  reply.body = got.body != NULL ? got.body : "";
  reply.body_len = got.body_len;
  body_buffer = sfn_call_reply(L, call, call_idx, &reply, got.body);
  /* a hook may have closed the client's connection meanwhile */
  if (c->conn != NULL && body_buffer != NULL)
    c->curl->reuse(c->conn, body_buffer, got.body_cap);
  else
    free(body_buffer);
}

void sfn_client_fetch(lua_State *L, int client_idx, const sfn_operation *op,
                      int params_idx) {
  sfn_client *c;
  sfn_call *call;
  int call_idx;
  client_idx = lua_absindex(L, client_idx);
  c = sfn_client_check(L, client_idx);
  call = sfn_call_new(L, client_idx, op, params_idx);
  call_idx = lua_gettop(L);
  for (;;) {
    lua_settop(L, call_idx);
    switch (sfn_call_next(L, call, call_idx)) {
    case SFN_ACT_CREDENTIALS:
      fetch_credentials(L, call, client_idx, call_idx);
      break;
    case SFN_ACT_SLEEP:
      pause_for(L, client_idx, sfn_call_delay(call));
      break;
    case SFN_ACT_SEND:
      send_request(L, call, c, call_idx);
      break;
    case SFN_ACT_DONE:
      lua_replace(L, call_idx);
      return;
    case SFN_ACT_FAIL:
      sfn_error_throw(L);
    }
  }
}

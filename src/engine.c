/* sfn.Call: the engine's state machine for one call of any operation (see
 * engine.h). Its uservalue table holds the Lua values the call needs:
 *   [UV_CLIENT]       the sfn.Client
 *   [UV_BODY]         the request body
 *   [UV_CREDENTIALS]  the attempt's credentials (a private copy: the signed
 *                     headers point into its strings)
 *   [UV_AUTHORIZATION] the attempt's Authorization value (same reason)
 *   [UV_OUTCOME]      the last attempt's page or sfn.Error
 *   [UV_USER_AGENT]   the client's User-Agent naming the transport */
#include "engine.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client.h"
#include "errors.h"
#include "redact.h"
#include "retry.h"

enum {
  UV_CLIENT = 1,
  UV_BODY,
  UV_CREDENTIALS,
  UV_AUTHORIZATION,
  UV_OUTCOME,
  UV_USER_AGENT
};

typedef enum call_state {
  ST_START,          /* a new attempt begins */
  ST_CREDENTIALS,    /* the attempt needs credentials */
  ST_AWAIT_CREDENTIALS,
  ST_SEND,           /* signed: ready to send */
  ST_AWAIT_REPLY,
  ST_BACKOFF,        /* waits `delay` before the next attempt */
  ST_DONE,
  ST_FAILED,
  ST_OVER            /* the outcome was handed over */
} call_state;

struct sfn_call {
  const sfn_operation *op;
  call_state state;
  int attempt;
  int refreshed;       /* the call refreshed its credentials once */
  int force_refresh;   /* the next credentials must be fresh ones */
  int have_skew;
  long long server_skew; /* server clock minus ours at the last reply */
  double delay;
  double started;      /* monotonic seconds at SEND */
  char *owned_body;    /* a reply body being decoded (freed by __gc too) */
  const char *transport; /* "curl", "ngx" or "function" (static) */
  char invocation_id[37];
  sfn_signed_headers headers;
};

static const char *const decisions[] = {"give_up", "retry", "retry_now",
                                        "refresh_credentials"};

static sfn_call *check_call(lua_State *L, int idx) {
  sfn_call *call = luaL_testudata(L, idx, SFN_CALL_MT);
  if (call == NULL)
    sfn_error_raisef(L, "ValidationError",
                     "call: expected an sfn.Call, got %s (call methods with "
                     "':')", luaL_typename(L, idx));
  return call;
}

static void push_slot(lua_State *L, int call_idx, int slot) {
  lua_getuservalue(L, call_idx);
  lua_rawgeti(L, -1, slot);
  lua_remove(L, -2);
}

/* Pops the top value into a slot. */
static void set_slot(lua_State *L, int call_idx, int slot) {
  lua_getuservalue(L, call_idx);
  lua_insert(L, -2);
  lua_rawseti(L, -2, slot);
  lua_pop(L, 1);
}

static sfn_client *call_client(lua_State *L, int call_idx) {
  sfn_client *client;
  push_slot(L, call_idx, UV_CLIENT);
  client = lua_touserdata(L, -1);
  lua_pop(L, 1); /* anchored by the uservalue */
  return client;
}

static void expect_state(lua_State *L, const sfn_call *call, call_state want,
                         const char *what) {
  if (call->state != want)
    sfn_error_raisef(L, "ValidationError",
                     "sfn.Call: %s does not answer the pending action", what);
}

/* Under lua_pcall: the operation (upvalue) pushes the body of params. */
static int push_body(lua_State *L) {
  const sfn_operation *op = lua_touserdata(L, lua_upvalueindex(1));
  op->push_body(L, 1);
  return 1;
}

sfn_call *sfn_call_new(lua_State *L, int client_idx, const sfn_operation *op,
                       int params_idx) {
  sfn_call *call;
  client_idx = lua_absindex(L, client_idx);
  params_idx = lua_absindex(L, params_idx);
  sfn_client_check(L, client_idx);
  lua_pushlightuserdata(L, (void *)op);
  lua_pushcclosure(L, push_body, 1);
  lua_pushvalue(L, params_idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    sfn_operation_name_error(L, -1, op);
    lua_error(L);
  }
  call = lua_newuserdata(L, sizeof *call);
  memset(call, 0, sizeof *call);
  call->op = op;
  call->transport = "curl";
  luaL_setmetatable(L, SFN_CALL_MT);
  sfn_uuid4(call->invocation_id);
  lua_createtable(L, UV_OUTCOME, 0);
  lua_pushvalue(L, client_idx);
  lua_rawseti(L, -2, UV_CLIENT);
  lua_pushvalue(L, -3);
  lua_rawseti(L, -2, UV_BODY);
  lua_setuservalue(L, -2);
  lua_remove(L, -2); /* the body */
  return call;
}

sfn_action sfn_call_next(lua_State *L, sfn_call *call, int call_idx) {
  call_idx = lua_absindex(L, call_idx);
  switch (call->state) {
  case ST_START:
    call->attempt++;
    call->state = ST_CREDENTIALS;
    call->delay = sfn_retry_send_delay(&call_client(L, call_idx)->retry);
    if (call->delay > 0) return SFN_ACT_SLEEP;
    /* fall through */
  case ST_CREDENTIALS:
    call->state = ST_AWAIT_CREDENTIALS;
    return SFN_ACT_CREDENTIALS;
  case ST_SEND:
    call->state = ST_AWAIT_REPLY;
    call->started = sfn_monotonic();
    return SFN_ACT_SEND;
  case ST_BACKOFF:
    call->state = ST_START;
    return SFN_ACT_SLEEP;
  case ST_DONE:
  case ST_FAILED: {
    int action = call->state == ST_DONE ? SFN_ACT_DONE : SFN_ACT_FAIL;
    /* handed over, not kept: a call is collected one cycle after it is
     * garbage (it has a finalizer), and a page it still held would be too */
    push_slot(L, call_idx, UV_OUTCOME);
    lua_pushnil(L);
    set_slot(L, call_idx, UV_OUTCOME);
    call->state = ST_OVER;
    return action;
  }
  case ST_OVER:
    sfn_error_raisef(L, "ValidationError",
                     "sfn.Call: the call is over, its outcome handed over");
    return SFN_ACT_FAIL;
  default:
    sfn_error_raisef(L, "ValidationError",
                     "sfn.Call: the pending action has no answer yet");
    return SFN_ACT_FAIL;
  }
}

int sfn_call_force_refresh(const sfn_call *call) { return call->force_refresh; }

double sfn_call_delay(const sfn_call *call) { return call->delay; }

const sfn_signed_headers *sfn_call_headers(const sfn_call *call) {
  return &call->headers;
}

void sfn_call_push_body(lua_State *L, int call_idx) {
  push_slot(L, call_idx, UV_BODY);
}

/* Pushes a private copy of the checked credentials table at idx. */
static void push_credentials_copy(lua_State *L, const sfn_credentials *c) {
  lua_createtable(L, 0, 3);
  lua_pushlstring(L, c->access_key_id, c->access_key_id_len);
  lua_setfield(L, -2, "access_key_id");
  lua_pushlstring(L, c->secret_access_key, c->secret_access_key_len);
  lua_setfield(L, -2, "secret_access_key");
  if (c->session_token != NULL) {
    lua_pushlstring(L, c->session_token, c->session_token_len);
    lua_setfield(L, -2, "session_token");
  }
}

/* Whether the credentials table at idx holds the same three values as the
 * call's current ones. */
static int same_credentials(lua_State *L, int call_idx, int idx) {
  static const char *const fields[] = {"access_key_id", "secret_access_key",
                                       "session_token"};
  int i, same = 1;
  push_slot(L, call_idx, UV_CREDENTIALS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  for (i = 0; i < 3 && same; i++) {
    lua_getfield(L, -1, fields[i]);
    lua_getfield(L, idx, fields[i]);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return same;
}

static void set_int_field(lua_State *L, int idx, const char *name, int value) {
  lua_pushinteger(L, value);
  lua_setfield(L, idx, name);
}

static void fail_with_top(lua_State *L, sfn_call *call, int call_idx) {
  set_slot(L, call_idx, UV_OUTCOME);
  call->state = ST_FAILED;
}

/* The User-Agent naming the call's transport ("md/transport#ngx"), made
 * once per client and transport and kept in the client's uservalue; the
 * call anchors it for its lifetime. */
static const char *call_user_agent(lua_State *L, sfn_call *call,
                                   int call_idx, const sfn_client *client) {
  const char *agent;
  push_slot(L, call_idx, UV_USER_AGENT);
  agent = lua_tostring(L, -1);
  lua_pop(L, 1);
  if (agent != NULL || client->user_agent == NULL) return agent;
  push_slot(L, call_idx, UV_CLIENT);
  lua_getuservalue(L, -1);
  lua_pushfstring(L, "user_agent_%s", call->transport);
  lua_pushvalue(L, -1);
  lua_rawget(L, -3);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushfstring(L, "%s md/transport#%s", client->user_agent,
                    call->transport);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    lua_rawset(L, -5);
  }
  agent = lua_tostring(L, -1);
  set_slot(L, call_idx, UV_USER_AGENT);
  lua_pop(L, 3);
  return agent;
}

void sfn_call_set_transport(sfn_call *call, const char *transport) {
  call->transport = transport;
}

void sfn_call_credentials(lua_State *L, sfn_call *call, int call_idx, int ok,
                          int value_idx) {
  sfn_client *client;
  sfn_credentials credentials;
  sfn_attempt info;
  size_t body_len;
  const char *body;
  int refreshing = call->force_refresh;
  call_idx = lua_absindex(L, call_idx);
  value_idx = lua_absindex(L, value_idx);
  expect_state(L, call, ST_AWAIT_CREDENTIALS, "credentials");
  if (!ok) {
    lua_pushvalue(L, value_idx);
    if (!sfn_error_is(L, -1)) {
      sfn_error_push(L, "CredentialsError", "", 0, NULL, 0, 0);
      lua_pushfstring(L, "the credentials function failed: %s",
                      lua_isstring(L, -2) ? lua_tostring(L, -2)
                                          : luaL_typename(L, -2));
      lua_setfield(L, -2, "message");
      lua_remove(L, -2);
    }
    /* the attempts sent before this one's credentials failed */
    set_int_field(L, lua_gettop(L), "attempts", call->attempt - 1);
    sfn_operation_name_error(L, -1, call->op);
    fail_with_top(L, call, call_idx);
    return;
  }
  sfn_credentials_check(L, value_idx, &credentials);
  /* A refresh after ExpiredToken that brings the same credentials cannot
   * help: the expired-token error stands (as botocore, one request). */
  if (refreshing && same_credentials(L, call_idx, value_idx)) {
    call->state = ST_FAILED;
    return;
  }
  call->force_refresh = 0;
  push_credentials_copy(L, &credentials);
  sfn_credentials_check(L, -1, &credentials); /* now into the copy */
  set_slot(L, call_idx, UV_CREDENTIALS);

  client = call_client(L, call_idx);
  info.now = sfn_retry_now(&client->retry);
  info.attempt = call->attempt;
  info.max_attempts = client->max_attempts;
  /* As botocore: a retry may live until the read timeout by the server's
   * clock, once a reply told us that clock. */
  info.ttl = call->have_skew ? (long long)time(NULL) + call->server_skew +
                                   (client->timeout_ms + 999) / 1000
                             : 0;
  info.invocation_id = call->invocation_id;
  info.user_agent = call_user_agent(L, call, call_idx, client);
  info.target = call->op->target;
  push_slot(L, call_idx, UV_BODY);
  body = lua_tolstring(L, -1, &body_len);
  sfn_request_sign(L, &client->key, &client->endpoint, client->region,
                   &credentials, body, body_len, &info, &call->headers);
  set_slot(L, call_idx, UV_AUTHORIZATION);
  lua_pop(L, 1); /* the body, anchored by the uservalue */
  call->state = ST_SEND;
}


static int secret_header(const char *name, size_t len) {
  return (len == 13 && strncasecmp(name, "Authorization", len) == 0) ||
         (len == 20 && strncasecmp(name, "X-Amz-Security-Token", len) == 0);
}

/* Calls the log hook, if any, with the attempt's record; the outcome is at
 * outcome_idx. A failing hook does not fail the call. */
static void log_attempt(lua_State *L, const sfn_call *call, int call_idx,
                        int outcome_idx, double duration,
                        const char *decision, double delay) {
  const sfn_client *client = call_client(L, call_idx);
  int record;
  size_t i;
  outcome_idx = lua_absindex(L, outcome_idx);
  push_slot(L, call_idx, UV_CLIENT);
  sfn_client_push_option(L, lua_gettop(L), "log");
  lua_remove(L, -2);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_createtable(L, 0, 12);
  record = lua_gettop(L);
  lua_pushstring(L, call->op->name);
  lua_setfield(L, record, "operation");
  set_int_field(L, record, "attempt", call->attempt);
  set_int_field(L, record, "max_attempts", client->max_attempts);
  lua_pushnumber(L, duration);
  lua_setfield(L, record, "duration");
  lua_pushstring(L, decision);
  lua_setfield(L, record, "decision");
  if (delay > 0) {
    lua_pushnumber(L, delay);
    lua_setfield(L, record, "delay");
  }
  if (sfn_error_is(L, outcome_idx)) {
    lua_getfield(L, outcome_idx, "code");
    lua_setfield(L, record, "error_code");
    lua_getfield(L, outcome_idx, "status");
    lua_setfield(L, record, "status");
    lua_getfield(L, outcome_idx, "request_id");
    lua_setfield(L, record, "request_id");
  } else {
    lua_getfield(L, outcome_idx, "ResponseMetadata");
    lua_getfield(L, -1, "HTTPStatusCode");
    lua_setfield(L, record, "status");
    lua_getfield(L, -1, "RequestId");
    lua_setfield(L, record, "request_id");
    lua_pop(L, 1);
  }
  lua_createtable(L, 0, (int)call->headers.count);
  for (i = 0; i < call->headers.count; i++) {
    const sfn_header *h = &call->headers.list[i];
    lua_pushlstring(L, h->name, h->name_len);
    if (secret_header(h->name, h->name_len))
      lua_pushliteral(L, "<redacted>");
    else
      lua_pushlstring(L, h->value, h->value_len);
    lua_rawset(L, -3);
  }
  lua_setfield(L, record, "headers");
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
}

/* Removes the attempt's secrets, whole or in part, from every field of the
 * error at err_idx. */
static void redact(lua_State *L, int call_idx, int err_idx) {
  static const char *const fields[] = {"secret_access_key", "session_token"};
  const char *secrets[2];
  size_t lens[2];
  int i;
  err_idx = lua_absindex(L, err_idx);
  push_slot(L, call_idx, UV_CREDENTIALS);
  for (i = 0; i < 2; i++) {
    lua_getfield(L, -1, fields[i]);
    secrets[i] = lua_type(L, -1) == LUA_TSTRING
                     ? lua_tolstring(L, -1, &lens[i])
                     : NULL;
    lua_pop(L, 1); /* anchored by the credentials copy */
  }
  sfn_redact_fields(L, err_idx, secrets, lens, 2);
  lua_pop(L, 1);
}

/* x-amz-retry-after (whole milliseconds) in seconds, or -1 when absent or
 * not a non-negative integer (botocore then ignores it too). */
static double retry_after_seconds(const char *ms) {
  double value = 0;
  const char *p = ms;
  if (p == NULL || *p == '\0') return -1;
  for (; *p >= '0' && *p <= '9'; p++) value = value * 10 + (*p - '0');
  return *p == '\0' ? value / 1000 : -1;
}

/* The attempt's outcome (page or sfn.Error) is on top: records it, decides
 * what comes next and pops it into the outcome slot. */
static void settle(lua_State *L, sfn_call *call, int call_idx, int ok,
                   const char *date, const char *retry_after) {
  sfn_client *client = call_client(L, call_idx);
  double duration = sfn_monotonic() - call->started, delay = 0;
  long long server_time = sfn_http_date_parse(date);
  int outcome = lua_gettop(L), throttled;
  sfn_retry_action action;
  if (server_time >= 0) {
    call->server_skew = server_time - (long long)time(NULL);
    call->have_skew = 1;
  }
  if (ok) {
    sfn_retry_on_reply(&client->retry, 0);
    sfn_retry_succeeded(&client->retry, call->attempt);
    lua_getfield(L, outcome, "ResponseMetadata");
    set_int_field(L, lua_gettop(L), "RetryAttempts", call->attempt - 1);
    lua_pop(L, 1);
    log_attempt(L, call, call_idx, outcome, duration, "success", 0);
    set_slot(L, call_idx, UV_OUTCOME);
    call->state = ST_DONE;
    return;
  }
  redact(L, call_idx, outcome);
  sfn_operation_name_error(L, outcome, call->op);
  set_int_field(L, outcome, "attempts", call->attempt);
  lua_getfield(L, outcome, "code");
  throttled = sfn_error_code_throttling(lua_tostring(L, -1));
  lua_pop(L, 1);
  sfn_retry_on_reply(&client->retry, throttled);
  action = sfn_retry_decide(L, &client->retry, outcome, call->attempt,
                            client->max_attempts, &call->refreshed, date,
                            retry_after_seconds(retry_after), &delay);
  log_attempt(L, call, call_idx, outcome, duration, decisions[action], delay);
  set_slot(L, call_idx, UV_OUTCOME);
  switch (action) {
  case SFN_GIVE_UP:
    call->state = ST_FAILED;
    break;
  case SFN_RETRY_REFRESHED:
    call->force_refresh = 1;
    call->state = ST_START;
    break;
  case SFN_RETRY_NOW:
    call->state = ST_START;
    break;
  case SFN_RETRY_AFTER_DELAY:
    call->delay = delay;
    call->state = ST_BACKOFF;
    break;
  }
}

char *sfn_call_reply(lua_State *L, sfn_call *call, int call_idx,
                     const sfn_reply *reply, char *owned_body) {
  int ok;
  call_idx = lua_absindex(L, call_idx);
  call->owned_body = owned_body; /* freed by __gc should anything raise */
  expect_state(L, call, ST_AWAIT_REPLY, "reply");
  ok = call->op->decode(L, reply);
  settle(L, call, call_idx, ok, reply->date, reply->retry_after);
  owned_body = call->owned_body;
  call->owned_body = NULL;
  return owned_body;
}

void sfn_call_transport_error(lua_State *L, sfn_call *call, int call_idx) {
  call_idx = lua_absindex(L, call_idx);
  expect_state(L, call, ST_AWAIT_REPLY, "transport error");
  settle(L, call, call_idx, 0, NULL, NULL);
}

/* ---- sfn.Call methods, for the Lua driver ------------------------------ */

static const char *const action_names[] = {"credentials", "sleep", "send",
                                           "done", "fail"};

/* The request table a Lua transport gets. */
static void push_request(lua_State *L, const sfn_call *call, int call_idx) {
  const sfn_client *client = call_client(L, call_idx);
  size_t i;
  lua_createtable(L, 0, 7);
  lua_pushliteral(L, "POST");
  lua_setfield(L, -2, "method");
  lua_pushstring(L, client->endpoint.url);
  lua_setfield(L, -2, "url");
  lua_createtable(L, 0, (int)call->headers.count);
  for (i = 0; i < call->headers.count; i++) {
    const sfn_header *h = &call->headers.list[i];
    lua_pushlstring(L, h->name, h->name_len);
    lua_pushlstring(L, h->value, h->value_len);
    lua_rawset(L, -3);
  }
  lua_setfield(L, -2, "headers");
  push_slot(L, call_idx, UV_BODY);
  lua_setfield(L, -2, "body");
  lua_pushnumber(L, (lua_Number)client->connect_timeout_ms / 1000);
  lua_setfield(L, -2, "connect_timeout");
  lua_pushnumber(L, (lua_Number)client->timeout_ms / 1000);
  lua_setfield(L, -2, "timeout");
  if (client->ca_file != NULL) {
    lua_pushstring(L, client->ca_file);
    lua_setfield(L, -2, "ca_file");
  }
}

/** The next action and its argument: "credentials", force_refresh |
 * "sleep", seconds | "send", request | "done", page | "fail", error.
 * @function next */
static int l_call_next(lua_State *L) {
  sfn_call *call = check_call(L, 1);
  sfn_action action;
  lua_settop(L, 1);
  action = sfn_call_next(L, call, 1);
  lua_pushstring(L, action_names[action]);
  switch (action) {
  case SFN_ACT_CREDENTIALS:
    lua_pushboolean(L, call->force_refresh);
    break;
  case SFN_ACT_SLEEP:
    lua_pushnumber(L, call->delay);
    break;
  case SFN_ACT_SEND:
    push_request(L, call, 1);
    break;
  case SFN_ACT_DONE:
  case SFN_ACT_FAIL:
    lua_pushvalue(L, 2);
    break;
  }
  return 2;
}

/** Answers "credentials" with what pcall(credentials_function) returned.
 * @function credentials
 * @tparam boolean ok @param value the credentials table or the error */
static int l_call_credentials(lua_State *L) {
  sfn_call *call = check_call(L, 1);
  lua_settop(L, 3);
  sfn_call_credentials(L, call, 1, lua_toboolean(L, 2), 3);
  return 0;
}

/* Under lua_pcall: reads a transport's reply (arguments 2..5) into the
 * sfn_reply at argument 1 and decodes it with the operation (upvalue). A
 * value of the wrong type or an unreadable reply is raised: the attempt's
 * error, as a bad reply would be. */
static int decode_transport_reply(lua_State *L) {
  const sfn_operation *op = lua_touserdata(L, lua_upvalueindex(1));
  sfn_reply *r = lua_touserdata(L, 1);
  sfn_reply_read_args(L, 2, r);
  if (!op->decode(L, r)) lua_error(L);
  return 1;
}

/** Answers "send" with a transport's reply.
 * @function reply
 * @tparam integer status @tparam table headers @tparam string body
 * @tparam[opt] string reason */
static int l_call_reply(lua_State *L) {
  sfn_call *call = check_call(L, 1);
  sfn_reply r;
  int ok;
  lua_settop(L, 5);
  expect_state(L, call, ST_AWAIT_REPLY, "reply");
  memset(&r, 0, sizeof r);
  lua_pushlightuserdata(L, (void *)call->op);
  lua_pushcclosure(L, decode_transport_reply, 1);
  lua_pushlightuserdata(L, &r);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 5);
  ok = lua_pcall(L, 5, 1, 0) == LUA_OK;
  if (!ok && !sfn_error_is(L, -1)) lua_error(L); /* out of memory */
  /* r's headers point into the headers table, still at index 3 */
  settle(L, call, 1, ok, r.date, r.retry_after);
  return 0;
}

/** Answers "send" when the transport could not deliver a reply.
 * @function failed
 * @tparam boolean raised whether the transport raised (a network failure,
 *   retried) rather than returned nil, message (a request it cannot send:
 *   not retried)
 * @param err the error or message */
static int l_call_failed(lua_State *L) {
  sfn_call *call = check_call(L, 1);
  int raised = lua_toboolean(L, 2);
  lua_settop(L, 3);
  expect_state(L, call, ST_AWAIT_REPLY, "failed");
  if (!sfn_error_is(L, 3)) {
    const char *why = lua_isstring(L, 3) ? lua_tostring(L, 3)
                                         : luaL_typename(L, 3);
    lua_pushfstring(L, raised ? "transport failed: %s"
                              : "the transport cannot send this request: %s",
                    why);
    sfn_error_push(L, "TransportError", lua_tostring(L, -1), 0, NULL, raised,
                   1);
    lua_replace(L, 3);
    lua_settop(L, 3);
  }
  sfn_call_transport_error(L, call, 1);
  return 0;
}

static int l_call_gc(lua_State *L) {
  sfn_call *call = luaL_checkudata(L, 1, SFN_CALL_MT);
  free(call->owned_body);
  call->owned_body = NULL;
  return 0;
}

/** Starts a call: validates params (before anything else).
 * @function call
 * @tparam userdata client sfn.Client @tparam table params
 * @tparam[opt="ListMapRuns"] string operation
 * @tparam[opt="function"] string transport "function" or "ngx", for the
 *   User-Agent
 * @treturn userdata sfn.Call */
static int l_new_call(lua_State *L) {
  static const char *const transports[] = {"function", "ngx", NULL};
  const char *name = luaL_optstring(L, 3, "ListMapRuns");
  const sfn_operation *op = sfn_operation_find(name);
  int transport = luaL_checkoption(L, 4, "function", transports);
  if (op == NULL)
    sfn_error_raisef(L, "ValidationError", "call: unknown operation '%s'", name);
  lua_settop(L, 2);
  sfn_call_set_transport(sfn_call_new(L, 1, op, 2), transports[transport]);
  return 1;
}

static const luaL_Reg call_methods[] = {{"next", l_call_next},
                                        {"credentials", l_call_credentials},
                                        {"reply", l_call_reply},
                                        {"failed", l_call_failed},
                                        {NULL, NULL}};

void sfn_engine_open(lua_State *L) {
  int module = lua_gettop(L);
  luaL_newmetatable(L, SFN_CALL_MT);
  lua_pushcfunction(L, l_call_gc);
  lua_setfield(L, -2, "__gc");
  lua_createtable(L, 0, 4);
  luaL_setfuncs(L, call_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new_call);
  lua_setfield(L, module, "call");
}

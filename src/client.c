/* sfn.Client: one libcurl handle per client (kept alive between calls and
 * re-created after fork), its options and signing key cache, and the
 * ListMapRuns call with its retry loop. */
#include "client.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "http.h"
#include "reply.h"
#include "request.h"
#include "retry.h"
#include "sigv4.h"

#define DEFAULT_MAX_REPLY_BYTES (16 * 1024 * 1024)

typedef struct sfn_client {
  CURL *curl;                   /* created lazily, per process */
  pid_t pid;                    /* the process that created curl */
  struct curl_slist *headers;   /* the current attempt's header lines */
  sfn_transfer transfer;
  sfn_sigv4_cache key;
  sfn_endpoint endpoint;
  sfn_http_options http;
  char region[64];
  char *ca_file;
  char *user_agent;
  sfn_retry retry;
  int max_attempts;
  int closed;
} sfn_client;

/* The uservalue table holds the Lua values a client needs (credentials, the
 * sleep hook): reachable only through the userdata, so cycles through them
 * can still be collected. */

static sfn_client *check_client(lua_State *L, int idx) {
  sfn_client *c = luaL_checkudata(L, idx, SFN_CLIENT_MT);
  if (c->closed) sfn_error_raisef(L, "ConfigError", "the client is closed");
  return c;
}

static void release(sfn_client *c) {
  if (c->curl != NULL && c->pid == getpid()) curl_easy_cleanup(c->curl);
  c->curl = NULL;
  sfn_http_free_headers(c->headers);
  c->headers = NULL;
  sfn_transfer_free(&c->transfer);
  sfn_sigv4_cache_clear(&c->key);
  free(c->ca_file);
  free(c->user_agent);
  c->ca_file = c->user_agent = NULL;
}

static int l_client_gc(lua_State *L) {
  release(luaL_checkudata(L, 1, SFN_CLIENT_MT));
  return 0;
}

/** Releases the connection and buffers now; later calls raise ConfigError.
 * @function close */
static int l_client_close(lua_State *L) {
  sfn_client *c = luaL_checkudata(L, 1, SFN_CLIENT_MT);
  release(c);
  c->closed = 1;
  return 0;
}

/* Makes the curl handle on first use and again in a forked child: a handle
 * inherited from the parent shares its sockets, so the child abandons it
 * (cleaning it up would close the parent's TLS sessions). */
static CURL *client_handle(lua_State *L, sfn_client *c) {
  pid_t pid = getpid();
  if (c->curl != NULL && c->pid != pid) c->curl = NULL;
  if (c->curl == NULL) {
    sfn_http_global_init(L);
    c->http.ca_file = c->ca_file;
    c->curl = sfn_http_handle_new(&c->transfer, &c->http);
    if (c->curl == NULL) sfn_error_raisef(L, "TransportError", "out of memory");
    c->pid = pid;
  }
  return c->curl;
}

/* Replaces c->headers with the attempt's lines; 0 when out of memory. */
static int set_header_lines(sfn_client *c, const sfn_signed_headers *h) {
  size_t i;
  sfn_http_free_headers(c->headers);
  c->headers = NULL;
  for (i = 0; i <= h->count; i++) {
    /* "Expect:" last: no 100-continue round trip for our small bodies. */
    const sfn_header *x = i < h->count ? &h->list[i] : NULL;
    size_t n = x != NULL ? x->name_len + x->value_len + 3 : 8;
    char *line = malloc(n);
    struct curl_slist *next;
    if (line == NULL) return 0;
    if (x != NULL) {
      memcpy(line, x->name, x->name_len);
      memcpy(line + x->name_len, ": ", 2);
      memcpy(line + x->name_len + 2, x->value, x->value_len);
      line[n - 1] = '\0';
    } else {
      memcpy(line, "Expect:", 8);
    }
    next = curl_slist_append(c->headers, line);
    OPENSSL_cleanse(line, n); /* may hold the session token */
    free(line);
    if (next == NULL) return 0;
    c->headers = next;
  }
  return 1;
}

/* Sends one attempt; pushes the page (returns 1) or an sfn.Error (0). */
static int send_attempt(lua_State *L, sfn_client *c,
                        const sfn_signed_headers *h, const char *body,
                        size_t body_len) {
  CURL *curl = client_handle(L, c);
  sfn_reply reply;
  CURLcode rc;
  long status = 0;
  if (!set_header_lines(c, h)) sfn_error_raisef(L, "TransportError", "out of memory");
  rc = sfn_http_perform(curl, &c->transfer, "POST", c->endpoint.url, c->headers,
                        body, body_len);
  if (rc != CURLE_OK) {
    sfn_http_push_error(L, rc, &c->transfer);
    return 0;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  memset(&reply, 0, sizeof reply);
  reply.status = status;
  reply.reason = c->transfer.reason;
  reply.request_id = c->transfer.request_id;
  reply.error_type = c->transfer.error_type;
  reply.content_type = c->transfer.content_type;
  reply.body = c->transfer.body != NULL ? c->transfer.body : "";
  reply.body_len = c->transfer.len;
  return sfn_reply_decode(L, &reply);
}

/* Pushes the credentials table: the configured table, or what the
 * configured function returns for (force_refresh). */
static void push_credentials(lua_State *L, int client_idx, int force_refresh) {
  lua_getuservalue(L, client_idx);
  lua_getfield(L, -1, "credentials");
  lua_remove(L, -2);
  if (lua_type(L, -1) != LUA_TFUNCTION) return;
  lua_pushboolean(L, force_refresh);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    if (sfn_error_is(L, -1)) sfn_error_throw(L);
    sfn_error_raisef(L, "CredentialsError", "the credentials function failed: %s",
                     lua_isstring(L, -1) ? lua_tostring(L, -1)
                                         : luaL_typename(L, -1));
  }
}

static void block_for(double seconds) {
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Waits through the sleep hook when one is set, else blocks. */
static void pause_for(lua_State *L, int client_idx, double seconds) {
  lua_getuservalue(L, client_idx);
  lua_getfield(L, -1, "sleep");
  lua_remove(L, -2);
  if (lua_type(L, -1) == LUA_TFUNCTION) {
    lua_pushnumber(L, seconds);
    lua_call(L, 1, 0);
    return;
  }
  lua_pop(L, 1);
  block_for(seconds);
}

/** Monotonic seconds, for durations.
 * @function monotonic */
static int l_monotonic(lua_State *L) {
  lua_pushnumber(L, sfn_monotonic());
  return 1;
}

/** Blocks the thread for some seconds (the default sleep hook).
 * @function sleep */
static int l_sleep(lua_State *L) {
  lua_Number seconds = luaL_checknumber(L, 1);
  if (seconds > 0 && seconds <= 3600) block_for(seconds);
  return 0;
}

static void set_int_field(lua_State *L, int idx, const char *name, int value) {
  lua_pushinteger(L, value);
  lua_setfield(L, idx, name);
}

static const char *const decisions[] = {"give_up", "retry", "retry_now",
                                        "refresh_credentials"};

static int is_throttling(lua_State *L, int err_idx) {
  int throttling;
  lua_getfield(L, err_idx, "code");
  throttling = sfn_error_code_throttling(lua_tostring(L, -1));
  lua_pop(L, 1);
  return throttling;
}

/* Whether the client has a log hook; pushes it when it does. */
static int push_log_hook(lua_State *L, int client_idx) {
  lua_getuservalue(L, client_idx);
  lua_getfield(L, -1, "log");
  lua_remove(L, -2);
  if (lua_type(L, -1) == LUA_TFUNCTION) return 1;
  lua_pop(L, 1);
  return 0;
}

static int secret_header(const char *name) {
  return strcasecmp(name, "Authorization") == 0 ||
         strcasecmp(name, "X-Amz-Security-Token") == 0;
}

/* Calls the log hook with one attempt's record: outcome_idx holds the page
 * or the sfn.Error, headers_idx the request headers (secrets redacted
 * here). A failing hook does not fail the call. */
static void log_attempt(lua_State *L, int client_idx, int attempt,
                        int max_attempts, int outcome_idx, double duration,
                        const char *decision, double delay, int headers_idx) {
  int record;
  outcome_idx = lua_absindex(L, outcome_idx);
  headers_idx = lua_absindex(L, headers_idx);
  if (!push_log_hook(L, client_idx)) return;
  lua_createtable(L, 0, 12);
  record = lua_gettop(L);
  lua_pushliteral(L, "ListMapRuns");
  lua_setfield(L, record, "operation");
  set_int_field(L, record, "attempt", attempt);
  set_int_field(L, record, "max_attempts", max_attempts);
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
  } else if (lua_istable(L, outcome_idx)) {
    lua_getfield(L, outcome_idx, "ResponseMetadata");
    lua_getfield(L, -1, "HTTPStatusCode");
    lua_setfield(L, record, "status");
    lua_getfield(L, -1, "RequestId");
    lua_setfield(L, record, "request_id");
    lua_pop(L, 1);
  }
  lua_newtable(L);
  if (lua_istable(L, headers_idx)) {
    lua_pushnil(L);
    while (lua_next(L, headers_idx) != 0) {
      if (lua_type(L, -2) == LUA_TSTRING && secret_header(lua_tostring(L, -2))) {
        lua_pop(L, 1);
        lua_pushliteral(L, "<redacted>");
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
  }
  lua_setfield(L, record, "headers");
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
}

/* The attempt's headers as a Lua table, for the log hook. */
static void push_headers_table(lua_State *L, const sfn_signed_headers *h) {
  size_t i;
  lua_createtable(L, 0, (int)h->count);
  for (i = 0; i < h->count; i++) {
    lua_pushlstring(L, h->list[i].name, h->list[i].name_len);
    lua_pushlstring(L, h->list[i].value, h->list[i].value_len);
    lua_rawset(L, -3);
  }
}

void sfn_client_fetch(lua_State *L, int client_idx, int params_idx) {
  sfn_client *c;
  sfn_params params;
  char invocation_id[37];
  int body_idx, attempt, refreshed = 0, force_refresh = 0;
  long long server_skew = 0; /* server clock minus ours at the last reply */
  int have_skew = 0;
  client_idx = lua_absindex(L, client_idx);
  params_idx = lua_absindex(L, params_idx);
  c = check_client(L, client_idx);
  sfn_params_check(L, params_idx, &params);
  sfn_params_push_body(L, &params);
  body_idx = lua_gettop(L);
  sfn_uuid4(invocation_id);
  for (attempt = 1;; attempt++) {
    sfn_credentials credentials;
    sfn_signed_headers headers;
    sfn_attempt info;
    sfn_retry_action action;
    size_t body_len;
    const char *body = lua_tolstring(L, body_idx, &body_len);
    double started, duration, delay = sfn_retry_send_delay(&c->retry);
    int headers_idx;
    lua_settop(L, body_idx);
    if (delay > 0) pause_for(L, client_idx, delay);
    push_credentials(L, client_idx, force_refresh);
    sfn_credentials_check(L, -1, &credentials);
    force_refresh = 0;
    info.now = sfn_retry_now(&c->retry);
    info.attempt = attempt;
    info.max_attempts = c->max_attempts;
    /* As botocore: a retry may live until the read timeout by the server's
     * clock, once a reply told us that clock. */
    info.ttl = have_skew ? (long long)time(NULL) + server_skew +
                               (c->http.timeout_ms + 999) / 1000
                         : 0;
    info.invocation_id = invocation_id;
    info.user_agent = c->user_agent;
    sfn_request_sign(L, &c->key, &c->endpoint, c->region, &credentials, body,
                     body_len, &info, &headers);
    if (push_log_hook(L, client_idx)) {
      lua_pop(L, 1);
      push_headers_table(L, &headers);
    } else {
      lua_pushnil(L);
    }
    headers_idx = lua_gettop(L);
    started = sfn_monotonic();
    if (send_attempt(L, c, &headers, body, body_len)) {
      duration = sfn_monotonic() - started;
      sfn_retry_on_reply(&c->retry, 0);
      sfn_retry_succeeded(&c->retry, attempt);
      lua_getfield(L, -1, "ResponseMetadata");
      set_int_field(L, lua_gettop(L), "RetryAttempts", attempt - 1);
      lua_pop(L, 1);
      log_attempt(L, client_idx, attempt, c->max_attempts, -1, duration,
                  "success", 0, headers_idx);
      lua_replace(L, body_idx);
      lua_settop(L, body_idx);
      return;
    }
    duration = sfn_monotonic() - started;
    sfn_error_redact(L, -1, credentials.secret_access_key);
    sfn_error_redact(L, -1, credentials.session_token);
    {
      long long date = sfn_http_date_parse(c->transfer.date);
      if (date >= 0) {
        server_skew = date - (long long)time(NULL);
        have_skew = 1;
      }
    }
    set_int_field(L, lua_gettop(L), "attempts", attempt);
    sfn_retry_on_reply(&c->retry, is_throttling(L, -1));
    action = sfn_retry_decide(L, &c->retry, -1, attempt, c->max_attempts,
                              &refreshed, c->transfer.date, &delay);
    log_attempt(L, client_idx, attempt, c->max_attempts, -1, duration,
                decisions[action], delay, headers_idx);
    if (action == SFN_GIVE_UP) break;
    if (action == SFN_RETRY_REFRESHED) force_refresh = 1;
    if (action == SFN_RETRY_AFTER_DELAY) pause_for(L, client_idx, delay);
  }
  sfn_error_throw(L); /* the last attempt's error is on top */
}

/** Calls ListMapRuns once (with retries).
 * @function list_map_runs
 * @tparam table params { executionArn=, maxResults=?, nextToken=? }
 * @treturn table the page
 * @raise sfn.Error */
static int l_client_list_map_runs(lua_State *L) {
  check_client(L, 1);
  lua_settop(L, 2);
  sfn_client_fetch(L, 1, 2);
  return 1;
}

static const char *cfg_string(lua_State *L, int idx, const char *name,
                              int required) {
  const char *value;
  lua_getfield(L, idx, name);
  if ((lua_isnil(L, -1) && required) ||
      (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING))
    sfn_error_raisef(L, "ConfigError", "%s: expected a string, got %s", name,
                     luaL_typename(L, -1));
  value = lua_tostring(L, -1);
  lua_pop(L, 1); /* kept alive by cfg */
  return value;
}

static double cfg_number(lua_State *L, int idx, const char *name, double def,
                         double min, double max) {
  double value;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TNUMBER)
    sfn_error_raisef(L, "ConfigError", "%s: expected a number, got %s", name,
                     luaL_typename(L, -1));
  value = lua_isnil(L, -1) ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(value >= min && value <= max))
    sfn_error_raisef(L, "ConfigError", "%s: must be in %f..%f", name, min, max);
  return value;
}

/* Copies an optional function option into the uservalue table. */
static void cfg_hook(lua_State *L, int cfg_idx, const char *name, int uv_idx) {
  lua_getfield(L, cfg_idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION)
    sfn_error_raisef(L, "ConfigError", "%s: expected a function, got %s", name,
                     luaL_typename(L, -1));
  lua_setfield(L, uv_idx, name);
}

static char *copy_string(lua_State *L, const char *s) {
  char *copy;
  if (s == NULL) return NULL;
  copy = strdup(s);
  if (copy == NULL) sfn_error_raisef(L, "ConfigError", "out of memory");
  return copy;
}

/** Makes a client.
 * @function new_client
 * @tparam table cfg { endpoint=, region=, credentials=table|function,
 *   max_attempts=3, connect_timeout=10, timeout=60, ca_file=, user_agent=,
 *   sleep=function(seconds), max_reply_bytes=16 MiB }
 * @treturn userdata sfn.Client
 * @raise ConfigError */
static int l_new_client(lua_State *L) {
  sfn_client *c;
  const char *region;
  int credentials_type;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  c = lua_newuserdata(L, sizeof *c); /* 2 */
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, SFN_CLIENT_MT);

  sfn_endpoint_parse(L, cfg_string(L, 1, "endpoint", 1), &c->endpoint);
  region = cfg_string(L, 1, "region", 1);
  if (region[0] == '\0' || strlen(region) >= sizeof c->region ||
      strpbrk(region, "/\r\n ") != NULL)
    sfn_error_raisef(L, "ConfigError", "region: '%s' is not a region name", region);
  strcpy(c->region, region);
  c->max_attempts = (int)cfg_number(L, 1, "max_attempts", 3, 1, 100);
  c->http.connect_timeout_ms =
      (long)(cfg_number(L, 1, "connect_timeout", 10, 0.001, 86400) * 1000);
  c->http.timeout_ms = (long)(cfg_number(L, 1, "timeout", 60, 0.001, 86400) * 1000);
  c->transfer.limit = (size_t)cfg_number(L, 1, "max_reply_bytes",
                                         DEFAULT_MAX_REPLY_BYTES, 1024, 1 << 30);
  c->ca_file = copy_string(L, cfg_string(L, 1, "ca_file", 0));
  c->user_agent = copy_string(L, cfg_string(L, 1, "user_agent", 0));

  lua_createtable(L, 0, 2); /* 3: the uservalue */
  lua_getfield(L, 1, "credentials");
  credentials_type = lua_type(L, -1);
  if (credentials_type != LUA_TTABLE && credentials_type != LUA_TFUNCTION)
    sfn_error_raisef(L, "ConfigError",
                     "credentials: expected a table or a function, got %s",
                     luaL_typename(L, -1));
  lua_setfield(L, 3, "credentials");
  cfg_hook(L, 1, "sleep", 3);
  cfg_hook(L, 1, "log", 3);
  lua_setuservalue(L, 2);
  {
    const char *mode = cfg_string(L, 1, "retry_mode", 0);
    if (mode != NULL && strcmp(mode, "standard") != 0 &&
        strcmp(mode, "adaptive") != 0 && strcmp(mode, "legacy") != 0)
      sfn_error_raisef(L, "ConfigError",
                       "retry_mode: '%s' is not standard, adaptive or legacy", mode);
    sfn_retry_init(&c->retry, mode != NULL && strcmp(mode, "adaptive") == 0);
  }
  return 1;
}

/* Readable options, for the Lua layer and tests. */
static int l_client_index(lua_State *L) {
  sfn_client *c = luaL_checkudata(L, 1, SFN_CLIENT_MT);
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "endpoint") == 0) lua_pushstring(L, c->endpoint.url);
  else if (strcmp(key, "region") == 0) lua_pushstring(L, c->region);
  else if (strcmp(key, "max_attempts") == 0) lua_pushinteger(L, c->max_attempts);
  else if (strcmp(key, "retry_quota") == 0) lua_pushinteger(L, c->retry.quota);
  else if (strcmp(key, "clock_offset") == 0) lua_pushinteger(L, (lua_Integer)c->retry.clock_offset);
  else if (strcmp(key, "retry_mode") == 0)
    lua_pushstring(L, c->retry.adaptive ? "adaptive" : "standard");
  else {
    luaL_getmetatable(L, SFN_CLIENT_MT);
    lua_getfield(L, -1, key);
  }
  return 1;
}

/* The retry policy, for the Lua driver (driver.lua). */

/** Epoch seconds by the server's clock as far as the client knows it.
 * @function _policy_now */
static int l_policy_now(lua_State *L) {
  sfn_client *c = check_client(L, 1);
  lua_pushnumber(L, (lua_Number)sfn_retry_now(&c->retry));
  return 1;
}

/** Seconds to wait before the next send (adaptive mode).
 * @function _policy_before_send */
static int l_policy_before_send(lua_State *L) {
  sfn_client *c = check_client(L, 1);
  lua_pushnumber(L, sfn_retry_send_delay(&c->retry));
  return 1;
}

/** Records an attempt's outcome and decides what comes next.
 * @function _policy_after
 * @tparam[opt] table err the attempt's sfn.Error, nil on success
 * @tparam int attempt
 * @tparam boolean refreshed whether the call refreshed credentials already
 * @tparam[opt] string date the reply's Date header
 * @treturn string decision ("success", "give_up", "retry", "retry_now", "refresh_credentials")
 * @treturn number delay in seconds
 * @treturn boolean refreshed */
static int l_policy_after(lua_State *L) {
  sfn_client *c = check_client(L, 1);
  int attempt = (int)luaL_checkinteger(L, 3);
  int refreshed = lua_toboolean(L, 4);
  const char *date = luaL_optstring(L, 5, NULL);
  double delay = 0;
  sfn_retry_action action;
  if (lua_isnil(L, 2)) {
    sfn_retry_on_reply(&c->retry, 0);
    sfn_retry_succeeded(&c->retry, attempt);
    lua_pushliteral(L, "success");
    lua_pushnumber(L, 0);
    lua_pushboolean(L, refreshed);
    return 3;
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  sfn_retry_on_reply(&c->retry, is_throttling(L, 2));
  action = sfn_retry_decide(L, &c->retry, 2, attempt, c->max_attempts,
                            &refreshed, date, &delay);
  lua_pushstring(L, decisions[action]);
  lua_pushnumber(L, delay);
  lua_pushboolean(L, refreshed);
  return 3;
}

/** Sends one attempt's record to the log hook (secrets redacted).
 * @function _log_attempt
 * @tparam int attempt @tparam table outcome page or error @tparam number duration
 * @tparam string decision @tparam number delay @tparam table headers */
static int l_log_attempt(lua_State *L) {
  sfn_client *c = check_client(L, 1);
  log_attempt(L, 1, (int)luaL_checkinteger(L, 2), c->max_attempts, 3,
              luaL_checknumber(L, 4), luaL_checkstring(L, 5),
              luaL_optnumber(L, 6, 0), 7);
  return 0;
}

static const luaL_Reg client_methods[] = {
    {"_policy_now", l_policy_now},
    {"_policy_before_send", l_policy_before_send},
    {"_policy_after", l_policy_after},
    {"_log_attempt", l_log_attempt},
    {"list_map_runs", l_client_list_map_runs},
    {"close", l_client_close},
    {"__gc", l_client_gc},
#if LUA_VERSION_NUM >= 504
    {"__close", l_client_close},
#endif
    {"__index", l_client_index},
    {NULL, NULL}};

void sfn_client_open(lua_State *L) {
  luaL_newmetatable(L, SFN_CLIENT_MT);
  luaL_setfuncs(L, client_methods, 0);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new_client);
  lua_setfield(L, -2, "new_client");
  lua_pushcfunction(L, l_monotonic);
  lua_setfield(L, -2, "monotonic");
  lua_pushcfunction(L, l_sleep);
  lua_setfield(L, -2, "sleep");
}

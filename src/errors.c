/* The sfn.Error metatable, constructors and retry classification. */
#include "errors.h"

#include <stdarg.h>
#include <string.h>

void sfn_error_push(lua_State *L, const char *code, const char *message,
                    int status, const char *request_id, int retryable,
                    int attempts) {
  luaL_checkstack(L, 4, "sfn error");
  lua_createtable(L, 0, 8);
  lua_pushstring(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, message != NULL ? message : code);
  lua_setfield(L, -2, "message");
  if (status > 0) {
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
  }
  if (request_id != NULL && request_id[0] != '\0') {
    lua_pushstring(L, request_id);
    lua_setfield(L, -2, "request_id");
  }
  lua_pushboolean(L, retryable);
  lua_setfield(L, -2, "retryable");
  lua_pushinteger(L, attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushliteral(L, SFN_OPERATION);
  lua_setfield(L, -2, "operation");
  luaL_setmetatable(L, SFN_ERROR_MT);
}

int sfn_error_raisef(lua_State *L, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  sfn_error_push(L, code, lua_tostring(L, -1), 0, NULL, 0, 0);
  return sfn_error_throw(L);
}

int sfn_error_throw(lua_State *L) {
  return lua_error(L);
}

int sfn_error_is(lua_State *L, int idx) {
  int is;
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, SFN_ERROR_MT);
  is = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return is;
}

static const char *const throttling_codes[] = {
    "Throttling", "ThrottlingException", "ThrottledException",
    "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
    "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", NULL};

static const char *const transient_codes[] = {
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "InternalServerError", "ServiceUnavailable", "InternalFailure",
    /* the library's own transient failures */
    "TransportError", "TimeoutError", NULL};

static int listed(const char *const *list, const char *code) {
  int i;
  if (code == NULL) return 0;
  for (i = 0; list[i] != NULL; i++)
    if (strcmp(code, list[i]) == 0) return 1;
  return 0;
}

int sfn_error_code_throttling(const char *code) {
  return listed(throttling_codes, code);
}

int sfn_error_code_retryable(const char *code, int status) {
  return sfn_error_code_throttling(code) ||
         listed(transient_codes, code) || status == 500 || status == 502 ||
         status == 503 || status == 504;
}

/* Reads a field as a string for __tostring, or NULL when absent. */
static const char *field_string(lua_State *L, int idx, const char *name) {
  lua_getfield(L, idx, name);
  return lua_isnil(L, -1) ? NULL : lua_tostring(L, -1);
}

/* Adds text with line breaks turned into spaces: tostring is one line. */
static void add_one_line(luaL_Buffer *b, const char *text) {
  for (; *text != '\0'; text++)
    luaL_addchar(b, (*text == '\n' || *text == '\r') ? ' ' : *text);
}

/* "ListMapRuns: ThrottlingException (HTTP 400, request abc): Rate exceeded" */
static int l_error_tostring(lua_State *L) {
  luaL_Buffer b;
  const char *operation, *code, *status, *request_id, *message;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  operation = field_string(L, 1, "operation");
  code = field_string(L, 1, "code");
  status = field_string(L, 1, "status");
  request_id = field_string(L, 1, "request_id");
  message = field_string(L, 1, "message");
  luaL_buffinit(L, &b);
  add_one_line(&b, operation != NULL ? operation : SFN_OPERATION);
  luaL_addstring(&b, ": ");
  add_one_line(&b, code != NULL ? code : "Error");
  if (status != NULL || request_id != NULL) {
    luaL_addstring(&b, " (");
    if (status != NULL) {
      luaL_addstring(&b, "HTTP ");
      add_one_line(&b, status);
    }
    if (request_id != NULL) {
      luaL_addstring(&b, status != NULL ? ", request " : "request ");
      add_one_line(&b, request_id);
    }
    luaL_addstring(&b, ")");
  }
  if (message != NULL) {
    luaL_addstring(&b, ": ");
    add_one_line(&b, message);
  }
  luaL_pushresult(&b);
  return 1;
}

static int l_is_error(lua_State *L) {
  lua_pushboolean(L, sfn_error_is(L, 1));
  return 1;
}

void sfn_errors_open(lua_State *L) {
  luaL_newmetatable(L, SFN_ERROR_MT);
  lua_pushcfunction(L, l_error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, SFN_ERROR_MT);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, -2, "Error");
  lua_pushcfunction(L, l_is_error);
  lua_setfield(L, -2, "is_error");
}

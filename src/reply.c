/* ListMapRuns replies (awsJson1_0) to page tables or sfn.Error tables.
 *
 * 2xx bodies first go to the fast path (src/fastpage.c), which takes the
 * plain pages real replies are in one pass and declines anything else. The
 * rest are parsed with cJSON and converted along the known shape only
 * (page object -> mapRuns array -> item objects -> scalars), without
 * recursion: the depth we descend is three whatever the body holds, a known
 * field nested deeper than expected fails its type check at the first level,
 * and unknown keys are skipped without being looked at. cJSON bounds its own
 * recursion at CJSON_NESTING_LIMIT (1000) and fails deeper bodies.
 *
 * The cJSON tree lives in a "sfn.ReplyTree" userdata whose __gc frees it, so
 * a memory error raised by any Lua call during the conversion leaks nothing;
 * on the normal paths the tree is freed and the pointer cleared at once. */
/*** @module sfn.core */
#include "reply.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "errors.h"
#include "fastpage.h"

#define REPLY_TREE_MT "sfn.ReplyTree"

/* Longest excerpt of a body quoted in a message, in output bytes. */
#define EXCERPT_MAX 100
/* Longest service message kept, in bytes. */
#define MESSAGE_MAX 1024

/* The key strings pushed once per decode (K_ order, from fastpage.h). */
static const char *const key_names[K_COUNT] = {
    "executionArn", "mapRunArn", "stateMachineArn", "startDate",
    "stopDate",     "mapRuns",   "nextToken",       "ResponseMetadata"};


/* Frees the tree; safe to call again (the __gc runs after the normal path
 * has already freed it). */
void sfn_json_tree_free(sfn_json_tree *t) {
  if (t->json != NULL) {
    cJSON_Delete(t->json);
    t->json = NULL;
  }
}

static int l_tree_gc(lua_State *L) {
  sfn_json_tree_free((sfn_json_tree *)luaL_checkudata(L, 1, REPLY_TREE_MT));
  return 0;
}

sfn_json_tree *sfn_json_tree_push(lua_State *L) {
  sfn_json_tree *t = (sfn_json_tree *)lua_newuserdata(L, sizeof(sfn_json_tree));
  t->json = NULL;
  luaL_setmetatable(L, REPLY_TREE_MT);
  return t;
}

static int is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Parses body[0, len) as exactly one JSON value with nothing but whitespace
 * after it. Returns the tree, or NULL with *err_at set to the byte offset of
 * the problem and *trailing telling whether the value itself was fine. */
static cJSON *parse_exact(const char *body, size_t len, size_t *err_at,
                          int *trailing) {
  const char *end = NULL;
  cJSON *json;
  *trailing = 0;
  *err_at = 0;
  /* require_null_terminated is not usable with an explicit length in cJSON
   * 1.7 (it wants the NUL inside the length), so check the tail here. */
  json = cJSON_ParseWithLengthOpts(body, len, &end, 0);
  if (json == NULL) {
    *err_at = (end != NULL && end >= body) ? (size_t)(end - body) : 0;
    return NULL;
  }
  if (end == NULL || end < body) end = body + len;
  while (end < body + len && is_space((unsigned char)*end)) end++;
  if (end < body + len) {
    cJSON_Delete(json);
    *err_at = (size_t)(end - body);
    *trailing = 1;
    return NULL;
  }
  return json;
}

/* Writes a printable excerpt of s[0, n), at most max <= EXCERPT_MAX bytes
 * plus "...", into out (EXCERPT_MAX + 8 bytes): ASCII kept, everything else
 * as \xNN, "..." when cut. */
static void excerpt_n(char *out, const char *s, size_t n, size_t max) {
  static const char hex[] = "0123456789abcdef";
  size_t i, o = 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      if (o + 1 > max) break;
      out[o++] = (char)c;
    } else {
      if (o + 4 > max) break;
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  if (i < n) {
    out[o++] = '.';
    out[o++] = '.';
    out[o++] = '.';
  }
  out[o] = '\0';
}

static void excerpt(char *out, const char *s, size_t n) {
  excerpt_n(out, s, n, EXCERPT_MAX);
}

static const char *json_type_name(const cJSON *v) {
  if (v == NULL) return "missing";
  switch (v->type & 0xff) {
    case cJSON_NULL: return "null";
    case cJSON_False:
    case cJSON_True: return "a boolean";
    case cJSON_Number: return "a number";
    case cJSON_String: return "a string";
    case cJSON_Array: return "an array";
    case cJSON_Object: return "an object";
    default: return "an unknown value";
  }
}

/* How a body that failed to parse is shaped: whether it stops inside a
 * string, an object or an array (a cut reply rather than a malformed one),
 * and how deep it nests. Error path only. */
static int body_shape(const char *s, size_t n, int *max_depth) {
  size_t i;
  int depth = 0, in_string = 0;
  *max_depth = 0;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"')
      in_string = 1;
    else if (c == '{' || c == '[') {
      if (++depth > *max_depth) *max_depth = depth;
    } else if (c == '}' || c == ']')
      depth--;
  }
  return in_string || depth > 0;
}

/* Pushes the message for a body cJSON could not take as one JSON value. */
static void push_parse_message(lua_State *L, const sfn_reply *r,
                               size_t err_at, int trailing) {
  char ex[EXCERPT_MAX + 8];
  size_t len = r->body_len;
  size_t i;
  int depth = 0;
  if (err_at > len) err_at = len;
  for (i = 0; i < len && is_space((unsigned char)r->body[i]); i++) {
  }
  if (i == len) {
    lua_pushliteral(L, "reply body is empty (whitespace only)");
  } else if (trailing) {
    excerpt(ex, r->body + err_at, len - err_at);
    lua_pushfstring(L, "reply body has data after the JSON value at byte %d: %s",
                    (int)err_at, ex);
  } else if (body_shape(r->body, len, &depth) && depth < CJSON_NESTING_LIMIT) {
    lua_pushfstring(L, "reply body is truncated JSON (%d bytes)", (int)len);
  } else if (depth >= CJSON_NESTING_LIMIT) {
    lua_pushfstring(L, "reply body nests deeper than %d levels",
                    CJSON_NESTING_LIMIT);
  } else if (err_at == 0) {
    const char *ct = r->content_type;
    char ct_ex[EXCERPT_MAX + 8];
    excerpt_n(ct_ex, ct != NULL ? ct : "", ct != NULL ? strlen(ct) : 0, 60);
    excerpt(ex, r->body, len);
    lua_pushfstring(L, "reply body is not JSON%s%s%s: %s",
                    ct != NULL ? " (Content-Type " : "", ct_ex,
                    ct != NULL ? ")" : "", ex);
  } else {
    excerpt(ex, r->body + err_at, len - err_at);
    lua_pushfstring(L, "reply body is not valid JSON at byte %d: %s",
                    (int)err_at, ex);
  }
}

/* Which item field a key names, or -1. */
static int item_field(const char *s) {
  if (s == NULL) return -1;
  switch (s[0]) {
    case 'e':
      return strcmp(s, "executionArn") == 0 ? K_EXECUTION_ARN : -1;
    case 'm':
      return strcmp(s, "mapRunArn") == 0 ? K_MAP_RUN_ARN : -1;
    case 's':
      if (strcmp(s, "stateMachineArn") == 0) return K_STATE_MACHINE_ARN;
      if (strcmp(s, "startDate") == 0) return K_START_DATE;
      if (strcmp(s, "stopDate") == 0) return K_STOP_DATE;
      return -1;
    default:
      return -1;
  }
}

/* cJSON's type tests are exported functions; these inline in the loop. */
static int is_type(const cJSON *v, int type) {
  return v != NULL && (v->type & 0xff) == type;
}
#define IS_NULL(v) is_type((v), cJSON_NULL)
#define IS_NUMBER(v) is_type((v), cJSON_Number)
#define IS_STRING(v) (is_type((v), cJSON_String) && (v)->valuestring != NULL)
#define IS_ARRAY(v) is_type((v), cJSON_Array)
#define IS_OBJECT(v) is_type((v), cJSON_Object)

static int is_date(const cJSON *v) {
  return IS_NUMBER(v) && isfinite(v->valuedouble);
}

/* Converts one mapRuns item and pushes it, or pushes a message and returns 0.
 * keys is the stack index of the first of the K_COUNT keys. */
static int push_item(lua_State *L, const cJSON *item, int index, int keys) {
  const cJSON *f[K_ITEM_FIELDS] = {NULL, NULL, NULL, NULL, NULL};
  const cJSON *c;
  int k;
  if (!IS_OBJECT(item)) {
    lua_pushfstring(L, "mapRuns[%d] is %s, not an object", index,
                    json_type_name(item));
    return 0;
  }
  for (c = item->child; c != NULL; c = c->next) {
    k = item_field(c->string);
    if (k >= 0 && f[k] == NULL) f[k] = c; /* first one wins, as in cJSON */
  }
  for (k = K_EXECUTION_ARN; k <= K_STATE_MACHINE_ARN; k++)
    if (!IS_STRING(f[k])) {
      if (f[k] == NULL)
        lua_pushfstring(L, "mapRuns[%d] has no %s", index, key_names[k]);
      else
        lua_pushfstring(L, "mapRuns[%d].%s is %s, not a string", index,
                        key_names[k], json_type_name(f[k]));
      return 0;
    }
  if (!is_date(f[K_START_DATE])) {
    if (f[K_START_DATE] == NULL)
      lua_pushfstring(L, "mapRuns[%d] has no startDate", index);
    else
      lua_pushfstring(L, "mapRuns[%d].startDate is %s, not a date in seconds",
                      index, IS_NUMBER(f[K_START_DATE])
                                 ? "out of range"
                                 : json_type_name(f[K_START_DATE]));
    return 0;
  }
  if (f[K_STOP_DATE] != NULL && !IS_NULL(f[K_STOP_DATE]) &&
      !is_date(f[K_STOP_DATE])) {
    lua_pushfstring(L, "mapRuns[%d].stopDate is %s, not a date in seconds",
                    index, IS_NUMBER(f[K_STOP_DATE])
                               ? "out of range"
                               : json_type_name(f[K_STOP_DATE]));
    return 0;
  }
  lua_createtable(L, 0, K_ITEM_FIELDS);
  for (k = K_EXECUTION_ARN; k <= K_STATE_MACHINE_ARN; k++) {
    const char *s = f[k]->valuestring;
    lua_pushvalue(L, keys + k);
    lua_pushlstring(L, s, strlen(s));
    lua_rawset(L, -3);
  }
  lua_pushvalue(L, keys + K_START_DATE);
  lua_pushnumber(L, (lua_Number)f[K_START_DATE]->valuedouble);
  lua_rawset(L, -3);
  if (IS_NUMBER(f[K_STOP_DATE])) {
    lua_pushvalue(L, keys + K_STOP_DATE);
    lua_pushnumber(L, (lua_Number)f[K_STOP_DATE]->valuedouble);
    lua_rawset(L, -3);
  }
  return 1;
}

/* Pushes ResponseMetadata for a page. */
static void push_metadata(lua_State *L, const sfn_reply *r) {
  lua_createtable(L, 0, 3);
  if (r->request_id != NULL && r->request_id[0] != '\0') {
    lua_pushstring(L, r->request_id);
    lua_setfield(L, -2, "RequestId");
  }
  lua_pushinteger(L, (lua_Integer)r->status);
  lua_setfield(L, -2, "HTTPStatusCode");
  lua_pushinteger(L, 0);
  lua_setfield(L, -2, "RetryAttempts");
}

/* 2xx, with cJSON: pushes the page without ResponseMetadata and returns
 * 1, or pushes a message and returns 0. The tree holder t sits on the
 * stack; keys is the index of the keys. */
static int decode_page_cjson(lua_State *L, const sfn_reply *r, sfn_json_tree *t,
                             int keys) {
  const cJSON *root, *runs, *token, *item;
  size_t err_at;
  int trailing, n, i, page, array;

  t->json = parse_exact(r->body, r->body_len, &err_at, &trailing);
  if (t->json == NULL) {
    push_parse_message(L, r, err_at, trailing);
    return 0;
  }
  root = t->json;
  if (!IS_OBJECT(root)) {
    lua_pushfstring(L, "reply body is %s, not an object", json_type_name(root));
    return 0;
  }
  runs = cJSON_GetObjectItemCaseSensitive(root, "mapRuns");
  if (!IS_ARRAY(runs)) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "__type");
    if (runs == NULL && IS_STRING(type)) {
      char ex[EXCERPT_MAX + 8];
      excerpt(ex, type->valuestring, strlen(type->valuestring));
      lua_pushfstring(L, "reply has no mapRuns (it has __type %s)", ex);
    } else if (runs == NULL)
      lua_pushliteral(L, "reply has no mapRuns");
    else
      lua_pushfstring(L, "mapRuns is %s, not an array", json_type_name(runs));
    return 0;
  }
  token = cJSON_GetObjectItemCaseSensitive(root, "nextToken");
  if (token != NULL && !IS_NULL(token) && !IS_STRING(token)) {
    lua_pushfstring(L, "nextToken is %s, not a string", json_type_name(token));
    return 0;
  }

  n = cJSON_GetArraySize(runs);
  luaL_checkstack(L, 2, "sfn reply page");
  lua_createtable(L, 0, 3);
  page = lua_gettop(L);
  lua_createtable(L, n, 0);
  array = page + 1;
  luaL_checkstack(L, 3, "sfn reply item"); /* item, key, value */
  for (i = 1, item = runs->child; item != NULL; i++, item = item->next) {
    if (!push_item(L, item, i, keys)) return 0;
    lua_rawseti(L, array, i);
  }
  lua_pushvalue(L, keys + K_MAP_RUNS);
  lua_pushvalue(L, array);
  lua_rawset(L, page);
  lua_settop(L, page);
  /* An empty token ends pagination for boto3 too (it tests truthiness). */
  if (IS_STRING(token) && token->valuestring[0] != '\0') {
    lua_pushvalue(L, keys + K_NEXT_TOKEN);
    lua_pushstring(L, token->valuestring);
    lua_rawset(L, page);
  }
  return 1;
}

/* 2xx: pushes the page and returns 1, or pushes a message and returns 0.
 * fast: try the fast path first (0 only for _decode_reply_cjson). */
static int decode_page(lua_State *L, const sfn_reply *r, sfn_json_tree *t,
                       int keys, int fast) {
  if (r->body == NULL || r->body_len == 0) {
    lua_pushliteral(L, "reply body is empty");
    return 0;
  }
  if (!(fast && sfn_fastpage_decode(L, r->body, r->body_len, keys)) &&
      !decode_page_cjson(L, r, t, keys))
    return 0;
  lua_pushvalue(L, keys + K_RESPONSE_METADATA);
  push_metadata(L, r);
  lua_rawset(L, -3);
  return 1;
}

/* Standard reason phrases, as Python's http.HTTPStatus spells them. */
static const char *status_phrase(long status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: return NULL;
  }
}

/* Pushes the error code in s[0, n) normalised as botocore does: what is
 * before the first ':', then what is after the last '#', trimmed. Returns 0
 * and pushes nothing when that leaves no code. */
static int push_code(lua_State *L, const char *s, size_t n) {
  const char *colon = (const char *)memchr(s, ':', n);
  const char *end = colon != NULL ? colon : s + n;
  const char *p;
  for (p = end; p > s; p--)
    if (p[-1] == '#') {
      s = p;
      break;
    }
  while (s < end && is_space((unsigned char)*s)) s++;
  while (end > s && is_space((unsigned char)end[-1])) end--;
  if (end == s) return 0;
  lua_pushlstring(L, s, (size_t)(end - s));
  return 1;
}

/* Pushes a service message, cut to MESSAGE_MAX bytes on a UTF-8 boundary. */
static void push_message(lua_State *L, const char *s) {
  size_t n = strlen(s);
  if (n <= MESSAGE_MAX) {
    lua_pushlstring(L, s, n);
    return;
  }
  n = MESSAGE_MAX;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  lua_pushlstring(L, s, n);
  lua_pushliteral(L, "...");
  lua_concat(L, 2);
}

/* A non-empty string member of obj, or NULL. */
static const char *string_member(const cJSON *obj, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (IS_STRING(v) && v->valuestring[0] != '\0')
    return v->valuestring;
  return NULL;
}

/* Non-2xx: pushes the sfn.Error for the reply. The tree holder t is on the
 * stack at base + 1. */
static void decode_service_error(lua_State *L, const sfn_reply *r,
                                 sfn_json_tree *t, int base) {
  const char *code, *message;
  int code_idx = base + 2, message_idx = base + 3;
  lua_pushnil(L); /* raw code from the body */
  lua_pushnil(L); /* message */
  if (r->body != NULL && r->body_len > 0) {
    size_t err_at;
    int trailing;
    t->json = parse_exact(r->body, r->body_len, &err_at, &trailing);
    if (IS_OBJECT(t->json)) {
      const char *s = string_member(t->json, "__type");
      if (s == NULL) s = string_member(t->json, "code");
      if (s != NULL) {
        lua_pushstring(L, s);
        lua_replace(L, code_idx);
      }
      s = string_member(t->json, "message");
      if (s == NULL) s = string_member(t->json, "Message");
      if (s != NULL) {
        push_message(L, s);
        lua_replace(L, message_idx);
      }
    }
    sfn_json_tree_free(t);
  }
  /* code, normalised, at base + 4 */
  if (!(lua_isstring(L, code_idx) &&
        push_code(L, lua_tostring(L, code_idx), lua_rawlen(L, code_idx))) &&
      !(r->error_type != NULL &&
        push_code(L, r->error_type, strlen(r->error_type)))) {
    /* botocore's generic error: the status as the code */
    lua_pushfstring(L, "%d", (int)r->status);
    if (lua_isnil(L, message_idx)) {
      const char *phrase = status_phrase(r->status);
      if (r->reason != NULL && r->reason[0] != '\0')
        lua_pushstring(L, r->reason);
      else if (phrase != NULL)
        lua_pushstring(L, phrase);
      else
        lua_pushfstring(L, "HTTP status %d", (int)r->status);
      lua_replace(L, message_idx);
    }
  }
  code = lua_tostring(L, -1);
  message = lua_isnil(L, message_idx) ? code : lua_tostring(L, message_idx);
  sfn_error_push(L, code, message, (int)r->status, r->request_id,
                 sfn_error_code_retryable(code, (int)r->status), 1);
}

/* sfn_reply_decode, with or without the fast path. */
static int reply_decode(lua_State *L, const sfn_reply *r, int fast) {
  int base = lua_gettop(L);
  int keys, k, ok;
  sfn_json_tree *t;

  luaL_checkstack(L, K_COUNT + 8, "sfn reply");
  t = sfn_json_tree_push(L);
  if (r->status < 200 || r->status > 299) {
    decode_service_error(L, r, t, base);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 0;
  }
  keys = lua_gettop(L) + 1;
  for (k = 0; k < K_COUNT; k++) lua_pushstring(L, key_names[k]);
  ok = decode_page(L, r, t, keys, fast);
  /* on failure the message is on top, read from the tree: free it after */
  sfn_json_tree_free(t);
  if (!ok)
    sfn_error_push(L, "ResponseError", lua_tostring(L, -1), (int)r->status,
                   r->request_id, 0, 1);
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return ok;
}

int sfn_reply_decode(lua_State *L, const sfn_reply *r) {
  return reply_decode(L, r, 1);
}

/* One header value: a string, or the first of a list of strings (as some
 * HTTP clients give repeated headers); NULL for any other type. */
static const char *optional_header(lua_State *L, int idx) {
  const char *s = NULL;
  if (lua_type(L, idx) == LUA_TSTRING) return lua_tostring(L, idx);
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_rawgeti(L, idx, 1);
    if (lua_type(L, -1) == LUA_TSTRING) s = lua_tostring(L, -1);
    lua_pop(L, 1); /* still anchored by the headers table */
  }
  return s;
}

/* A header value the decoder needs: optional_header's, or a
 * ValidationError. */
static const char *header_value(lua_State *L, int idx, const char *name) {
  const char *s = optional_header(L, idx);
  if (s == NULL)
    sfn_error_raisef(L, "ValidationError",
                     "decode_reply: header %s must be a string, got %s", name,
                     luaL_typename(L, idx));
  return s;
}

void sfn_reply_read_args(lua_State *L, int first, sfn_reply *r) {
  int headers = first + 1, body = first + 2, reason = first + 3;
  lua_Number status;
  memset(r, 0, sizeof *r);
  if (lua_type(L, first) != LUA_TNUMBER)
    sfn_error_raisef(L, "ValidationError",
                     "decode_reply: status must be an integer, got %s",
                     luaL_typename(L, first));
  status = lua_tonumber(L, first);
  if (!(status >= 100 && status <= 599) || status != (lua_Number)(long)status)
    sfn_error_raisef(
        L, "ValidationError",
        "decode_reply: status must be an HTTP status code (100..599)");
  r->status = (long)status;
  if (!lua_isnoneornil(L, headers) && lua_type(L, headers) != LUA_TTABLE)
    sfn_error_raisef(L, "ValidationError",
                     "decode_reply: headers must be a table, got %s",
                     luaL_typename(L, headers));
  if (lua_isnoneornil(L, body)) {
    r->body = "";
  } else if (lua_type(L, body) == LUA_TSTRING) {
    r->body = lua_tolstring(L, body, &r->body_len);
  } else {
    sfn_error_raisef(L, "ValidationError",
                     "decode_reply: body must be a string, got %s",
                     luaL_typename(L, body));
  }
  if (!lua_isnoneornil(L, reason)) {
    if (lua_type(L, reason) != LUA_TSTRING)
      sfn_error_raisef(L, "ValidationError",
                       "decode_reply: reason must be a string, got %s",
                       luaL_typename(L, reason));
    r->reason = lua_tostring(L, reason);
  }
  if (lua_type(L, headers) != LUA_TTABLE) return;
  luaL_checkstack(L, 4, "sfn reply headers");
  lua_pushnil(L);
  while (lua_next(L, headers) != 0) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *name = lua_tostring(L, -2);
      if (strcasecmp(name, "x-amzn-requestid") == 0)
        r->request_id = header_value(L, -1, name);
      else if (strcasecmp(name, "x-amzn-errortype") == 0)
        r->error_type = header_value(L, -1, name);
      else if (strcasecmp(name, "content-type") == 0)
        r->content_type = header_value(L, -1, name);
      /* only the retry policy reads these: a value of another type is
       * no information, not a bad reply */
      else if (strcasecmp(name, "date") == 0)
        r->date = optional_header(L, -1);
      else if (strcasecmp(name, "x-amz-retry-after") == 0)
        r->retry_after = optional_header(L, -1);
    }
    lua_pop(L, 1);
  }
}

/* decode_reply's arguments and result, with or without the fast path. */
static int decode_reply_call(lua_State *L, int fast) {
  sfn_reply r;
  lua_settop(L, 4);
  sfn_reply_read_args(L, 1, &r);
  if (!reply_decode(L, &r, fast)) return sfn_error_throw(L);
  return 1;
}

/***
 * Decodes a ListMapRuns HTTP reply.
 * @function decode_reply
 * @tparam integer status HTTP status, 100..599
 * @tparam[opt] table headers header names in any case to string values
 * @tparam[opt] string body the reply body (nil is taken as empty)
 * @tparam[opt] string reason the reason phrase from the status line
 * @treturn table the page: mapRuns, nextToken, ResponseMetadata
 * @raise sfn.Error: the service's error, ResponseError for an unreadable 2xx
 * reply, ValidationError for wrong argument types
 */
static int l_decode_reply(lua_State *L) { return decode_reply_call(L, 1); }

/* Internal, undocumented, for spec/21-fastpage_spec.lua and
 * spec/fuzz/fuzz_fastpage.c: the fast path promises the result of the
 * cJSON path, so that path on its own is what it is checked against. */

/* core._decode_reply_cjson: decode_reply without the fast path. */
static int l_decode_reply_cjson(lua_State *L) {
  return decode_reply_call(L, 0);
}

/* core._fastpage(body): the fast path alone, the page without
 * ResponseMetadata, or false where it declines (the specs check that it
 * takes the shapes real replies have). */
static int l_fastpage(lua_State *L) {
  size_t len;
  const char *body;
  int keys, k;
  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError",
                            "_fastpage: body must be a string, got %s",
                            luaL_typename(L, 1));
  body = lua_tolstring(L, 1, &len);
  lua_settop(L, 1);
  luaL_checkstack(L, K_COUNT + 1, "sfn fast page");
  keys = 2;
  for (k = 0; k < K_COUNT; k++) lua_pushstring(L, key_names[k]);
  if (!sfn_fastpage_decode(L, body, len, keys)) lua_pushboolean(L, 0);
  return 1;
}

static const luaL_Reg reply_funcs[] = {
    {"decode_reply", l_decode_reply},
    {"_decode_reply_cjson", l_decode_reply_cjson},
    {"_fastpage", l_fastpage},
    {NULL, NULL}};

void sfn_reply_open(lua_State *L) {
  if (luaL_newmetatable(L, REPLY_TREE_MT)) {
    lua_pushcfunction(L, l_tree_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, reply_funcs, 0);
}

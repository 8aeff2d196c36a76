/* libFuzzer target: the reply decoder, sfn_reply_decode (src/reply.c).
 *
 * Input: 2 bytes of status (big-endian, folded into 100..599), 1 byte of
 * header choices, 1 byte of mode, then the body (the rest, NULs included).
 *   header byte: bits 0-1 x-amzn-RequestId (none, "", a UUID, odd bytes)
 *                bits 2-4 X-Amzn-Errortype (none or one of 7 forms)
 *                bits 5-6 Content-Type (none, JSON, HTML, long/binary)
 *                bit 7    a reason phrase
 *   mode byte:   0xC0..0xFF make the Lua allocator fail after
 *                (mode & 0x3F) * 2 growing allocations; otherwise none.
 *
 * Checked on every input: the decoder returns through lua_pcall (no crash,
 * no Lua string error); 2xx and only 2xx can give a page. A differential
 * against an independent reading of the body with cJSON (ref_page: one JSON
 * value, only JSON whitespace after it, an object with a mapRuns array of
 * items with string ARNs and finite dates, nextToken null/absent/string,
 * the first of duplicate keys winning -- what reply.c's cJSON path
 * accepts): the decoder gives a page exactly when the reference does, and
 * then the same page field for field (strings byte for byte, dates bit for
 * bit, sign of zero included; a nextToken only when non-empty;
 * ResponseMetadata with the status; no other keys). This holds the fast
 * path (src/fastpage.c) to "the same page as cJSON or decline". Every other
 * outcome is an sfn.Error with code, message and status, whose tostring is
 * one line; a 2xx failure is a non-retryable ResponseError. Memory errors
 * may only come from a planned allocation failure. */
#include <math.h>

#include <cJSON.h>

#include "fuzz_common.h"
#include "reply.h"

static const char *const request_ids[4] = {
    NULL, "", "2b1c1a0e-8f46-4d43-9c5b-2f0b0a7e9d11", "id\x01\x7f\xff\"\\"};
static const char *const error_types[8] = {
    NULL,
    "ThrottlingException",
    "ExecutionDoesNotExist:http://internal.amazon.com/coral/com.amazonaws.swf.service.v2.model/",
    "com.amazonaws.states#InvalidToken",
    "",
    " #: ",
    "a#b#c:d:e",
    "ServiceUnavailable"};
static const char *const content_types[4] = {
    NULL, "application/x-amz-json-1.0", "text/html; charset=utf-8",
    "application/\x01\xfe;"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};

static int call_decode(lua_State *L) {
  const sfn_reply *r = (const sfn_reply *)lua_touserdata(L, 1);
  int ok;
  lua_settop(L, 0);
  ok = sfn_reply_decode(L, r);
  FUZZ_ASSERT(lua_gettop(L) == 1, "sfn_reply_decode left %d values",
              lua_gettop(L));
  lua_pushboolean(L, ok);
  return 2;
}

/* ---- the reference: what reply.c's cJSON path makes of a 2xx body ---- */

static int json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ref_string(const cJSON *v) {
  return cJSON_IsString(v) && v->valuestring != NULL;
}

static int ref_date(const cJSON *v) {
  return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

static const char *const item_keys[5] = {"executionArn", "mapRunArn",
                                         "stateMachineArn", "startDate",
                                         "stopDate"};

/* The item's five fields, the first of each name (as cJSON and reply.c
 * take them); 1 when they make a valid item. */
static int ref_item(const cJSON *item, const cJSON *f[5]) {
  const cJSON *c;
  int k;
  for (k = 0; k < 5; k++) f[k] = NULL;
  if (!cJSON_IsObject(item)) return 0;
  for (c = item->child; c != NULL; c = c->next)
    for (k = 0; k < 5; k++)
      if (c->string != NULL && f[k] == NULL && strcmp(c->string, item_keys[k]) == 0)
        f[k] = c;
  return ref_string(f[0]) && ref_string(f[1]) && ref_string(f[2]) &&
         ref_date(f[3]) &&
         (f[4] == NULL || cJSON_IsNull(f[4]) || ref_date(f[4]));
}

/* The body as one JSON value with only JSON whitespace after it, a page
 * object of the API's shape: the tree, else NULL. */
static cJSON *ref_page(const char *body, size_t len) {
  const char *end = NULL;
  const cJSON *runs, *token, *item;
  const cJSON *f[5];
  cJSON *json;
  if (len == 0) return NULL;
  json = cJSON_ParseWithLengthOpts(body, len, &end, 0);
  if (json == NULL) return NULL;
  if (end == NULL || end < body) end = body + len;
  while (end < body + len && json_space(*end)) end++;
  if (end < body + len || !cJSON_IsObject(json)) goto no;
  runs = cJSON_GetObjectItemCaseSensitive(json, "mapRuns");
  token = cJSON_GetObjectItemCaseSensitive(json, "nextToken");
  if (!cJSON_IsArray(runs)) goto no;
  if (token != NULL && !cJSON_IsNull(token) && !ref_string(token)) goto no;
  for (item = runs->child; item != NULL; item = item->next)
    if (!ref_item(item, f)) goto no;
  return json;
no:
  cJSON_Delete(json);
  return NULL;
}

static void same_string(lua_State *L, int item, const char *name,
                        const cJSON *want, int i) {
  size_t n;
  const char *got;
  lua_getfield(L, item, name);
  got = lua_tolstring(L, -1, &n);
  FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING && n == strlen(want->valuestring) &&
                  memcmp(got, want->valuestring, n) == 0,
              "mapRuns[%d].%s differs from cJSON's", i, name);
  lua_pop(L, 1);
}

static void same_date(lua_State *L, int item, const char *name,
                      const cJSON *want, int i) {
  lua_getfield(L, item, name);
  if (want == NULL || cJSON_IsNull(want)) {
    FUZZ_ASSERT(lua_isnil(L, -1), "mapRuns[%d].%s is set, cJSON has none", i,
                name);
  } else {
    double got = lua_tonumber(L, -1);
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TNUMBER && got == want->valuedouble &&
                    signbit(got) == signbit(want->valuedouble),
                "mapRuns[%d].%s is %.17g, cJSON reads %.17g", i, name, got,
                want->valuedouble);
  }
  lua_pop(L, 1);
}

/* The page equals the reference, field for field, and has nothing else. */
static void check_page(lua_State *L, int page, const sfn_reply *r,
                       const cJSON *ref) {
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(ref, "mapRuns");
  const cJSON *token = cJSON_GetObjectItemCaseSensitive(ref, "nextToken");
  const cJSON *item;
  int n, i, arr;
  FUZZ_ASSERT(lua_type(L, page) == LUA_TTABLE, "the page is a %s",
              luaL_typename(L, page));
  FUZZ_ASSERT(lua_getmetatable(L, page) == 0, "the page has a metatable");
  lua_pushnil(L);
  while (lua_next(L, page) != 0) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    FUZZ_ASSERT(strcmp(k, "mapRuns") == 0 || strcmp(k, "nextToken") == 0 ||
                    strcmp(k, "ResponseMetadata") == 0,
                "the page has a key '%s'", k);
    lua_pop(L, 1);
  }
  lua_getfield(L, page, "nextToken");
  if (ref_string(token) && token->valuestring[0] != '\0') {
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING &&
                    strcmp(lua_tostring(L, -1), token->valuestring) == 0 &&
                    lua_rawlen(L, -1) == strlen(token->valuestring),
                "nextToken differs from cJSON's");
  } else {
    FUZZ_ASSERT(lua_isnil(L, -1), "a nextToken where cJSON has none");
  }
  lua_pop(L, 1);
  lua_getfield(L, page, "ResponseMetadata");
  FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE, "no ResponseMetadata");
  lua_getfield(L, -1, "HTTPStatusCode");
  FUZZ_ASSERT(lua_tointeger(L, -1) == r->status, "HTTPStatusCode is wrong");
  lua_pop(L, 2);

  lua_getfield(L, page, "mapRuns");
  arr = lua_gettop(L);
  FUZZ_ASSERT(lua_type(L, arr) == LUA_TTABLE, "mapRuns is a %s",
              luaL_typename(L, arr));
  n = (int)lua_rawlen(L, arr);
  FUZZ_ASSERT(n == cJSON_GetArraySize(runs), "the page has %d items, cJSON %d",
              n, cJSON_GetArraySize(runs));
  lua_rawgeti(L, arr, n + 1);
  FUZZ_ASSERT(lua_isnil(L, -1), "mapRuns is not a sequence");
  lua_pop(L, 1);
  for (i = 1, item = runs->child; item != NULL; i++, item = item->next) {
    const cJSON *f[5];
    int it, count = 0;
    ref_item(item, f);
    lua_rawgeti(L, arr, i);
    it = lua_gettop(L);
    FUZZ_ASSERT(lua_type(L, it) == LUA_TTABLE, "mapRuns[%d] is a %s", i,
                luaL_typename(L, it));
    same_string(L, it, "executionArn", f[0], i);
    same_string(L, it, "mapRunArn", f[1], i);
    same_string(L, it, "stateMachineArn", f[2], i);
    same_date(L, it, "startDate", f[3], i);
    same_date(L, it, "stopDate", f[4], i);
    lua_pushnil(L);
    while (lua_next(L, it) != 0) {
      count++;
      lua_pop(L, 1);
    }
    FUZZ_ASSERT(count == 4 + (cJSON_IsNumber(f[4]) ? 1 : 0),
                "mapRuns[%d] has %d fields", i, count);
    lua_settop(L, arr);
  }
  lua_settop(L, page);
}

static void check_error(lua_State *L, int err, const sfn_reply *r) {
  if (!fuzz_check_error_value(L, err, LUA_OK, "sfn_reply_decode")) return;
  lua_getfield(L, err, "status");
  FUZZ_ASSERT(lua_tointeger(L, -1) == r->status, "err.status is wrong");
  lua_pop(L, 1);
  if (r->status >= 200 && r->status <= 299) {
    lua_getfield(L, err, "code");
    FUZZ_ASSERT(strcmp(lua_tostring(L, -1), "ResponseError") == 0,
                "a 2xx failure with code %s", lua_tostring(L, -1));
    lua_getfield(L, err, "retryable");
    FUZZ_ASSERT(lua_toboolean(L, -1) == 0, "a retryable ResponseError");
    lua_pop(L, 2);
  }
  fuzz_check_tostring(L, err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_begin(data, size);
  sfn_reply r;
  unsigned hdr, mode;
  int status;
  if (size < 4) return 0;
  memset(&r, 0, sizeof r);
  r.status = 100 + (long)(((unsigned)data[0] << 8 | data[1]) % 500);
  hdr = data[2];
  mode = data[3];
  r.request_id = request_ids[hdr & 3];
  r.error_type = error_types[(hdr >> 2) & 7];
  r.content_type = content_types[(hdr >> 5) & 3];
  r.reason = (hdr & 0x80) ? "Reason Phrase From The Wire" : NULL;
  r.body = (const char *)data + 4;
  r.body_len = size - 4;

  lua_pushcfunction(L, call_decode);
  lua_pushlightuserdata(L, &r);
  if ((mode & 0xC0) == 0xC0) fuzz_fail_after((long)(mode & 0x3F) * 2);
  status = lua_pcall(L, 1, 2, 0);
  fuzz_fail_after(-1);
  if (status != LUA_OK) {
    fuzz_check_error_value(L, -1, status, "sfn_reply_decode (raised)");
    FUZZ_ASSERT(fuzz_alloc_failed, "sfn_reply_decode raised without a "
                "memory error");
  } else {
    /* the differential: the decoder (fast path or cJSON path) against an
     * independent reading of the body with cJSON */
    int is_2xx = r.status >= 200 && r.status <= 299;
    cJSON *ref = is_2xx ? ref_page(r.body, r.body_len) : NULL;
    if (lua_toboolean(L, 2)) {
      FUZZ_ASSERT(is_2xx, "a page for status %ld", r.status);
      FUZZ_ASSERT(ref != NULL, "a page from a body cJSON does not read as "
                  "a page");
      check_page(L, 1, &r, ref);
    } else {
      FUZZ_ASSERT(ref == NULL, "an error for a body cJSON reads as a page");
      check_error(L, 1, &r);
    }
    cJSON_Delete(ref);
  }
  fuzz_end();
  return 0;
}

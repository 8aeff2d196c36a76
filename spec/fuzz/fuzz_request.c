/* libFuzzer target: core.build_request (src/request.c: sfn_params_check,
 * sfn_params_push_body, sfn_endpoint_parse, sfn_request_sign) with fuzzed
 * executionArn / nextToken bytes, maxResults values, endpoint strings and
 * per-attempt options.
 *
 * Input: flags, maxResults byte, 2-byte length + executionArn bytes,
 * 2-byte length + nextToken bytes, then the endpoint (the rest).
 *   flags bit 0/1/2: executionArn / nextToken / maxResults present
 *   flags bit 3:     the endpoint from the input (else http://127.0.0.1:8080)
 *   flags bits 4-6:  opts: none, time 0, time 1e17 (past year 2^31),
 *                    time -1e11 (year -1199), time 1e300, attempt 1e300,
 *                    time NaN, attempt -3 + max_attempts 1e10 (the last six
 *                    out of range: a ValidationError)
 *   flags bit 7:     maxResults an odd number (-1, 1000.5, 1001, NaN, 1e300,
 *                    -0.0) chosen by the maxResults byte, else that byte * 4
 *
 * Checked: validation passes exactly when executionArn is strict UTF-8 with
 * no NUL and 1..256 code points, nextToken the same with 1..1024, and
 * maxResults an integer in 0..1000, and the opts are in range (else a
 * ValidationError, never undefined behaviour); then the body
 * is valid JSON (cJSON_ParseWithLength) holding exactly those values, byte
 * for byte; the headers carry no CR, LF or NUL, X-Amz-Date is 16 characters
 * of the form YYYYMMDDTHHMMSSZ and Authorization is AWS4-HMAC-SHA256 for
 * the test key. A bad endpoint gives a ConfigError. */
#include <math.h>

#include <cJSON.h>

#include "fuzz_common.h"
#include "token.h"

#define ARN_MAX_CHARS 256
#define TOKEN_MAX_CHARS 1024

static long sendable_chars(const char *s, size_t len) {
  long n = 0;
  size_t i;
  if (memchr(s, '\0', len) != NULL || !sfn_token_utf8_valid(s, len))
    return -1;
  for (i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
  return n;
}

/* Reads a 2-byte length and that many bytes (cut at the end). */
static const char *take(const uint8_t **p, const uint8_t *end, size_t *len) {
  const char *s;
  size_t n;
  if (end - *p < 2) {
    *len = 0;
    return "";
  }
  n = (size_t)((*p)[0] << 8 | (*p)[1]);
  *p += 2;
  if (n > (size_t)(end - *p)) n = (size_t)(end - *p);
  s = (const char *)*p;
  *p += n;
  *len = n;
  return s;
}

static void check_header(lua_State *L, int headers, const char *name) {
  size_t n, i;
  const char *v;
  lua_getfield(L, headers, name);
  FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING, "no %s header", name);
  v = lua_tolstring(L, -1, &n);
  if (strcmp(name, "X-Amz-Date") == 0) {
    FUZZ_ASSERT(n == 16 && v[8] == 'T' && v[15] == 'Z',
                "X-Amz-Date is '%s'", v);
    for (i = 0; i < 15; i++)
      if (i != 8)
        FUZZ_ASSERT(v[i] >= '0' && v[i] <= '9', "X-Amz-Date is '%s'", v);
  }
  if (strcmp(name, "Authorization") == 0)
    FUZZ_ASSERT(strncmp(v, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0,
                "Authorization is '%s'", v);
  lua_pop(L, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) ;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const double odd_max[6] = {-1, 1000.5, 1001, NAN, 1e300, -0.0};
  lua_State *L = fuzz_begin(data, size);
  const uint8_t *p, *end = data + size;
  unsigned flags, opts;
  const char *arn, *tok, *endpoint;
  size_t arn_len, tok_len, endpoint_len;
  double max_results;
  int has_arn, has_tok, has_max, valid, valid_opts, status;
  if (size < 2) return 0;
  flags = data[0];
  max_results = (flags & 0x80) ? odd_max[data[1] % 6] : data[1] * 4.0;
  p = data + 2;
  arn = take(&p, end, &arn_len);
  tok = take(&p, end, &tok_len);
  endpoint = (const char *)p;
  endpoint_len = (size_t)(end - p);
  has_arn = flags & 1;
  has_tok = (flags >> 1) & 1;
  has_max = (flags >> 2) & 1;
  opts = (flags >> 4) & 7;
  valid_opts = opts <= 1;

  valid = has_arn;
  if (has_arn) {
    long c = sendable_chars(arn, arn_len);
    valid = valid && c >= 1 && c <= ARN_MAX_CHARS;
  }
  if (has_tok) {
    long c = sendable_chars(tok, tok_len);
    valid = valid && c >= 1 && c <= TOKEN_MAX_CHARS;
  }
  if (has_max)
    valid = valid && max_results >= 0 && max_results <= 1000 &&
            max_results == floor(max_results);

  fuzz_push_core(L, "build_request");
  /* cfg */
  lua_createtable(L, 0, 4);
  lua_pushliteral(L, "us-east-1");
  lua_setfield(L, -2, "region");
  if (flags & 8) lua_pushlstring(L, endpoint, endpoint_len);
  else lua_pushliteral(L, "http://127.0.0.1:8080");
  lua_setfield(L, -2, "endpoint");
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "AKIDEXAMPLE");
  lua_setfield(L, -2, "access_key_id");
  lua_pushliteral(L, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  lua_setfield(L, -2, "secret_access_key");
  lua_setfield(L, -2, "credentials");
  /* params */
  lua_createtable(L, 0, 3);
  if (has_arn) {
    lua_pushlstring(L, arn, arn_len);
    lua_setfield(L, -2, "executionArn");
  }
  if (has_tok) {
    lua_pushlstring(L, tok, tok_len);
    lua_setfield(L, -2, "nextToken");
  }
  if (has_max) {
    if (max_results == floor(max_results) && fabs(max_results) < 1e15)
      lua_pushinteger(L, (lua_Integer)max_results);
    else
      lua_pushnumber(L, max_results);
    lua_setfield(L, -2, "maxResults");
  }
  /* opts */
  lua_createtable(L, 0, 4);
  lua_pushstring(L, "0e2a5d3c-7b7f-4f0e-9d53-0a1c2b3d4e5f");
  lua_setfield(L, -2, "invocation_id");
  switch (opts) {
  case 1: lua_pushnumber(L, 0); lua_setfield(L, -2, "time"); break;
  case 2: lua_pushnumber(L, 1e17); lua_setfield(L, -2, "time"); break;
  case 3: lua_pushnumber(L, -1e11); lua_setfield(L, -2, "time"); break;
  case 4: lua_pushnumber(L, 1e300); lua_setfield(L, -2, "time"); break;
  case 5: lua_pushnumber(L, 1e300); lua_setfield(L, -2, "attempt"); break;
  case 6: lua_pushnumber(L, NAN); lua_setfield(L, -2, "time"); break;
  case 7:
    lua_pushnumber(L, -3); lua_setfield(L, -2, "attempt");
    lua_pushnumber(L, 1e10); lua_setfield(L, -2, "max_attempts");
    break;
  default: break;
  }

  status = lua_pcall(L, 3, 4, 0);
  if (status != LUA_OK) {
    const char *code;
    fuzz_check_error_value(L, -1, status, "build_request");
    lua_getfield(L, -1, "code");
    code = lua_tostring(L, -1);
    if (strcmp(code, "ValidationError") == 0) {
      lua_getfield(L, -2, "message");
      FUZZ_ASSERT(!valid || !valid_opts, "valid params refused: %s",
                  lua_tostring(L, -1));
    } else {
      FUZZ_ASSERT(strcmp(code, "ConfigError") == 0 && (flags & 8) && valid,
                  "build_request raised a %s", code);
    }
  } else {
    size_t body_len;
    const char *body, *url;
    cJSON *json, *v;
    int n = 0;
    FUZZ_ASSERT(valid, "invalid params accepted");
    FUZZ_ASSERT(valid_opts, "out-of-range opts accepted (variant %u)", opts);
    FUZZ_ASSERT(strcmp(lua_tostring(L, 1), "POST") == 0, "method");
    url = lua_tostring(L, 2);
    FUZZ_ASSERT(url != NULL && (strncmp(url, "http://", 7) == 0 ||
                                strncmp(url, "https://", 8) == 0),
                "url '%s'", url ? url : "(none)");
    FUZZ_ASSERT(lua_type(L, 3) == LUA_TTABLE, "headers");
    lua_pushnil(L);
    while (lua_next(L, 3) != 0) {
      size_t vn;
      const char *hv = lua_tolstring(L, -1, &vn);
      FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING && hv != NULL &&
                      strlen(hv) == vn && strpbrk(hv, "\r\n") == NULL,
                  "header %s holds a NUL, CR or LF", lua_tostring(L, -2));
      lua_pop(L, 1);
    }
    check_header(L, 3, "X-Amz-Date");
    check_header(L, 3, "Authorization");
    check_header(L, 3, "Host");
    body = lua_tolstring(L, 4, &body_len);
    FUZZ_ASSERT(body != NULL, "no body");
    json = cJSON_ParseWithLength(body, body_len);
    FUZZ_ASSERT(json != NULL && cJSON_IsObject(json), "body is not a JSON "
                "object: %s", body);
    for (v = json->child; v != NULL; v = v->next) n++;
    FUZZ_ASSERT(n == has_arn + has_tok + has_max, "body has %d members", n);
    v = cJSON_GetObjectItemCaseSensitive(json, "executionArn");
    FUZZ_ASSERT(cJSON_IsString(v) && strlen(v->valuestring) == arn_len &&
                    memcmp(v->valuestring, arn, arn_len) == 0,
                "executionArn differs in the body: %s", body);
    if (has_tok) {
      v = cJSON_GetObjectItemCaseSensitive(json, "nextToken");
      FUZZ_ASSERT(cJSON_IsString(v) && strlen(v->valuestring) == tok_len &&
                      memcmp(v->valuestring, tok, tok_len) == 0,
                  "nextToken differs in the body: %s", body);
    }
    if (has_max) {
      v = cJSON_GetObjectItemCaseSensitive(json, "maxResults");
      FUZZ_ASSERT(cJSON_IsNumber(v) && v->valuedouble == max_results,
                  "maxResults differs in the body: %s", body);
    }
    cJSON_Delete(json);
  }
  fuzz_end();
  return 0;
}

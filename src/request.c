/* ListMapRuns requests: parameter validation per the service model, the
 * awsJson1_0 body (cJSON), endpoint parsing, the signed header set, and the
 * sans-I/O seam core.build_request. */
/*** @module sfn.core */
#include "request.h"

#include <cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "errors.h"
#include "version.h"

#define ARN_MAX_CHARS 256
#define TOKEN_MAX_CHARS 1024
#define MAX_RESULTS_MAX 1000
/* 9999-12-31T23:59:59Z: x-amz-date has four digits for the year. */
#define LAST_SIGNABLE_SECOND 253402300799.0

/* Counts the code points of a strictly valid UTF-8 string (no overlongs, no
 * surrogates, nothing above U+10FFFF, no NUL); -1 when it is not one. */
static long utf8_length(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  long count = 0;
  while (p < end) {
    unsigned c = *p;
    size_t n;
    unsigned cp, min;
    if (c == 0) return -1;
    if (c < 0x80) {
      p++;
      count++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07, min = 0x10000;
    else return -1;
    if ((size_t)(end - p) <= n) return -1;
    for (size_t i = 1; i <= n; i++) {
      if ((p[i] & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    p += n + 1;
    count++;
  }
  return count;
}

static void check_string_field(lua_State *L, int idx, const char *name,
                               long max_chars, const char **out,
                               size_t *out_len) {
  size_t len;
  long chars;
  if (lua_type(L, idx) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError", "%s: expected a string, got %s",
                     name, luaL_typename(L, idx));
  *out = lua_tolstring(L, idx, &len);
  *out_len = len;
  chars = utf8_length(*out, len);
  if (chars < 0)
    sfn_error_raisef(L, "ValidationError",
                     "%s: not valid UTF-8 or holds a NUL byte", name);
  if (chars < 1 || chars > max_chars)
    sfn_error_raisef(L, "ValidationError",
                     "%s: length must be 1..%d characters, got %d", name,
                     (int)max_chars, (int)chars);
}

static long check_max_results(lua_State *L, int idx) {
  lua_Number n;
  if (lua_type(L, idx) != LUA_TNUMBER)
    sfn_error_raisef(L, "ValidationError",
                     "maxResults: expected an integer, got %s",
                     luaL_typename(L, idx));
  n = lua_tonumber(L, idx);
  /* NaN fails both comparisons; infinities and fractions fail the range or
   * the integral test. Integral floats are fine (LuaJIT has no integers). */
  if (!(n >= 0 && n <= MAX_RESULTS_MAX) || n != (lua_Number)(long)n)
    sfn_error_raisef(L, "ValidationError",
                     "maxResults: must be an integer in 0..%d",
                     MAX_RESULTS_MAX);
  return (long)n;
}

int sfn_key_is(lua_State *L, int idx, const char *name) {
  size_t len;
  const char *key;
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  key = lua_tolstring(L, idx, &len);
  return len == strlen(name) && memcmp(key, name, len) == 0;
}

void sfn_unknown_key(lua_State *L, int key_idx, const char *unknown,
                     const char *expected) {
  size_t len = 0;
  const char *key = lua_type(L, key_idx) == LUA_TSTRING ||
                            lua_type(L, key_idx) == LUA_TNUMBER
                        ? lua_tolstring(L, lua_absindex(L, key_idx), &len)
                        : NULL;
  if (key == NULL)
    sfn_error_raisef(L, "ValidationError", "%s of type %s (expected %s)",
                     unknown, luaL_typename(L, key_idx), expected);
  if (strlen(key) != len)
    sfn_error_raisef(L, "ValidationError",
                     "%s holding a NUL byte (expected %s)", unknown, expected);
  sfn_error_raisef(L, "ValidationError", "%s '%s' (expected %s)", unknown, key,
                   expected);
}

void sfn_params_check(lua_State *L, int idx, sfn_params *out) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    sfn_error_raisef(L, "ValidationError", "params: expected a table, got %s",
                     luaL_typename(L, idx));
  memset(out, 0, sizeof *out);
  luaL_checkstack(L, 3, "params");
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (sfn_key_is(L, -2, "executionArn")) {
      check_string_field(L, -1, "executionArn", ARN_MAX_CHARS,
                         &out->execution_arn, &out->execution_arn_len);
    } else if (sfn_key_is(L, -2, "maxResults")) {
      out->max_results = check_max_results(L, -1);
      out->has_max_results = 1;
    } else if (sfn_key_is(L, -2, "nextToken")) {
      check_string_field(L, -1, "nextToken", TOKEN_MAX_CHARS,
                         &out->next_token, &out->next_token_len);
    } else {
      lua_pushvalue(L, -2); /* tolstring on a copy keeps lua_next's key */
      sfn_unknown_key(L, -1, "params: unknown parameter",
                      "executionArn, maxResults, nextToken");
    }
    lua_pop(L, 1);
  }
  if (out->execution_arn == NULL)
    sfn_error_raisef(L, "ValidationError", "executionArn: required");
}

void sfn_params_push_body(lua_State *L, const sfn_params *params) {
  /* JSON escaping grows a byte to at most 6 ("\u00XX"). */
  size_t bound =
      6 * (params->execution_arn_len + params->next_token_len) + 128;
  char *scratch = lua_newuserdata(L, bound); /* GC-owned: safe if we raise */
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL;
  /* Lua strings end in NUL and the params were checked to hold none, so
   * cJSON can copy them as C strings. Nothing below can raise until the
   * tree is deleted. */
  ok = ok && cJSON_AddStringToObject(root, "executionArn",
                                     params->execution_arn) != NULL;
  ok = ok && (!params->has_max_results ||
              cJSON_AddNumberToObject(root, "maxResults",
                                      (double)params->max_results) != NULL);
  ok = ok && (params->next_token == NULL ||
              cJSON_AddStringToObject(root, "nextToken", params->next_token) !=
                  NULL);
  ok = ok && cJSON_PrintPreallocated(root, scratch, (int)bound, 0);
  cJSON_Delete(root);
  if (!ok) { /* only an allocation can fail: report it as Lua does its own */
    lua_pushliteral(L, "not enough memory");
    lua_error(L);
  }
  lua_pushstring(L, scratch);
  lua_remove(L, -2); /* the scratch buffer */
}

void sfn_endpoint_parse(lua_State *L, const char *url, sfn_endpoint *out) {
  const char *rest, *host_end, *path;
  size_t host_len, path_len, url_len = strlen(url);
  int https;
  memset(out, 0, sizeof *out);
  if (strncmp(url, "https://", 8) == 0) https = 1, rest = url + 8;
  else if (strncmp(url, "http://", 7) == 0) https = 0, rest = url + 7;
  else
    return (void)sfn_error_raisef(L, "ConfigError",
                                  "endpoint: '%s' is not an http(s) URL", url);
  if (strpbrk(url, " \t\r\n?#@\\") != NULL)
    sfn_error_raisef(L, "ConfigError",
                     "endpoint: '%s' may hold only scheme, host, port and "
                     "path", url);
  host_end = strchr(rest, '/');
  if (host_end == NULL) host_end = rest + strlen(rest);
  host_len = (size_t)(host_end - rest);
  path = *host_end == '/' ? host_end : "/";
  path_len = strlen(path);
  if (host_len == 0 || host_len >= sizeof out->host ||
      path_len >= sizeof out->path || url_len + 1 >= sizeof out->url)
    sfn_error_raisef(L, "ConfigError", "endpoint: '%s' has no host or is too long",
                     url);
  out->https = https;
  memcpy(out->host, rest, host_len);
  {  /* Drop an explicit default port from Host, as HTTP clients do. */
    const char *default_port = https ? ":443" : ":80";
    size_t n = strlen(default_port);
    if (host_len > n && strcmp(out->host + host_len - n, default_port) == 0)
      out->host[host_len - n] = '\0';
  }
  memcpy(out->path, path, path_len + 1);
  snprintf(out->url, sizeof out->url, "%s%s", url, *host_end == '/' ? "" : "/");
}

/* Reads a string field of a credentials table, NULL when absent. */
static const char *credential_field(lua_State *L, int idx, const char *name,
                                    size_t *len, int required) {
  const char *value;
  lua_getfield(L, idx, name);
  if (lua_isnil(L, -1) && !required) {
    lua_pop(L, 1);
    *len = 0;
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    sfn_error_raisef(L, "CredentialsError",
                     "credentials: %s must be a non-empty string", name);
  value = lua_tolstring(L, -1, len);
  if (strlen(value) != *len || strpbrk(value, "\r\n") != NULL)
    sfn_error_raisef(L, "CredentialsError",
                     "credentials: %s holds a NUL, CR or LF", name);
  lua_pop(L, 1); /* still referenced by the credentials table */
  return value;
}

void sfn_credentials_check(lua_State *L, int idx, sfn_credentials *out) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    sfn_error_raisef(L, "CredentialsError",
                     "credentials: expected a table, got %s",
                     luaL_typename(L, idx));
  out->access_key_id =
      credential_field(L, idx, "access_key_id", &out->access_key_id_len, 1);
  out->secret_access_key = credential_field(L, idx, "secret_access_key",
                                            &out->secret_access_key_len, 1);
  out->session_token =
      credential_field(L, idx, "session_token", &out->session_token_len, 0);
}

void sfn_random_bytes(unsigned char *out, size_t n) {
  if (getrandom(out, n, GRND_NONBLOCK) == (ssize_t)n) return;
  if (RAND_bytes(out, (int)n) == 1) return;
  { /* ids and jitter, not secrets: any bits do */
    unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)(size_t)out;
    size_t i;
    for (i = 0; i < n; i++) out[i] = (unsigned char)(seed >> (i % 8 * 8));
  }
}

void sfn_uuid4(char out[37]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  size_t i, j = 0;
  sfn_random_bytes(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
  for (i = 0; i < sizeof b; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[j++] = '-';
    out[j++] = hex[b[i] >> 4];
    out[j++] = hex[b[i] & 0x0F];
  }
  out[j] = '\0';
}

static void add_header(sfn_signed_headers *out, const char *name,
                       const char *value, size_t value_len) {
  sfn_header *h = &out->list[out->count++];
  h->name = name;
  h->name_len = strlen(name);
  h->value = value;
  h->value_len = value_len;
}

static void format_amz_date(long long now, char out[17]) {
  time_t t = (time_t)now;
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
    memcpy(out, "19700101T000000Z", 17); /* unreachable for checked times */
}

/* Header values we did not make ourselves must not smuggle in lines. */
static void check_header_value(lua_State *L, const char *name,
                               const char *value, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
      sfn_error_raisef(L, "ValidationError",
                       "header %s: value holds a CR, LF or NUL", name);
}

void sfn_request_sign(lua_State *L, sfn_sigv4_cache *cache,
                      const sfn_endpoint *endpoint, const char *region,
                      const sfn_credentials *credentials,
                      const char *body, size_t body_len,
                      const sfn_attempt *attempt, sfn_signed_headers *out) {
  sfn_sigv4_request req;
  const char *user_agent = attempt->user_agent != NULL ? attempt->user_agent
                                                       : "sfn/" SFN_VERSION;
  check_header_value(L, "User-Agent", user_agent, strlen(user_agent));
  check_header_value(L, "amz-sdk-invocation-id", attempt->invocation_id,
                     strlen(attempt->invocation_id));
  format_amz_date(attempt->now, out->amz_date);
  if (attempt->ttl > 0) {
    char ttl[17];
    format_amz_date(attempt->ttl, ttl);
    snprintf(out->sdk_request, sizeof out->sdk_request,
             "ttl=%s; attempt=%d; max=%d", ttl, attempt->attempt,
             attempt->max_attempts);
  } else {
    snprintf(out->sdk_request, sizeof out->sdk_request, "attempt=%d; max=%d",
             attempt->attempt, attempt->max_attempts);
  }
  out->count = 0;
  /* The first entries are the signed ones. */
  add_header(out, "Host", endpoint->host, strlen(endpoint->host));
  add_header(out, "Content-Type", SFN_CONTENT_TYPE, sizeof SFN_CONTENT_TYPE - 1);
  {
    const char *target = attempt->target != NULL ? attempt->target : SFN_TARGET;
    add_header(out, "X-Amz-Target", target, strlen(target));
  }
  add_header(out, "X-Amz-Date", out->amz_date, 16);
  if (credentials->session_token != NULL)
    add_header(out, "X-Amz-Security-Token", credentials->session_token,
               credentials->session_token_len);

  memset(&req, 0, sizeof req);
  req.method = "POST";
  req.path = endpoint->path;
  req.path_len = strlen(endpoint->path);
  req.headers = out->list;
  req.header_count = out->count;
  req.payload = body;
  req.payload_len = body_len;
  req.amz_date = out->amz_date;
  req.region = region;
  req.service = "states";
  req.access_key_id = credentials->access_key_id;
  req.secret_access_key = credentials->secret_access_key;
  req.secret_len = credentials->secret_access_key_len;
  req.normalize_path = 1;
  sfn_sigv4_authorize(L, cache, &req, 0);

  add_header(out, "Authorization", lua_tostring(L, -1), lua_rawlen(L, -1));
  add_header(out, "User-Agent", user_agent, strlen(user_agent));
  add_header(out, "amz-sdk-invocation-id", attempt->invocation_id,
             strlen(attempt->invocation_id));
  add_header(out, "amz-sdk-request", out->sdk_request,
             strlen(out->sdk_request));
}

/* Reads an optional field of a table as a C string. */
static const char *opt_string_field(lua_State *L, int idx, const char *name,
                                    const char *def) {
  const char *value;
  lua_getfield(L, idx, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError", "%s: expected a string, got %s",
                     name, luaL_typename(L, -1));
  value = lua_tostring(L, -1);
  lua_pop(L, 1); /* kept alive by the table */
  return value;
}

/* An optional number field within [min, max] (NaN fails the test). */
static lua_Number opt_number_field(lua_State *L, int idx, const char *name,
                                   lua_Number def, lua_Number min,
                                   lua_Number max) {
  lua_Number value;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TNUMBER)
    sfn_error_raisef(L, "ValidationError", "%s: expected a number, got %s",
                     name, luaL_typename(L, -1));
  value = lua_isnil(L, -1) ? def : lua_tonumber(L, -1);
  if (!(value >= min && value <= max))
    sfn_error_raisef(L, "ValidationError", "%s: must be in %f..%f", name, min,
                     max);
  lua_pop(L, 1);
  return value;
}

/** Builds one signed ListMapRuns request without sending it.
 * @function build_request
 * @tparam table cfg { endpoint=, region=, credentials={...}, user_agent=? }
 * @tparam table params ListMapRuns params
 * @tparam[opt] table opts { attempt=1, max_attempts=1, invocation_id=,
 *   time=epoch seconds, ttl=epoch seconds (amz-sdk-request's ttl) }
 * @treturn string method, string url, table headers, string body
 * @raise ValidationError, ConfigError, CredentialsError */
static int l_build_request(lua_State *L) {
  sfn_params params;
  sfn_endpoint endpoint;
  sfn_credentials credentials;
  sfn_attempt attempt;
  sfn_signed_headers headers;
  const char *region, *body;
  size_t body_len, i;
  char invocation_id[37];
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_isnoneornil(L, 3)) {
    lua_settop(L, 2);
    lua_newtable(L);
  }
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  sfn_params_check(L, 2, &params);
  region = opt_string_field(L, 1, "region", NULL);
  if (region == NULL || region[0] == '\0')
    sfn_error_raisef(L, "ConfigError", "cfg.region: required");
  sfn_endpoint_parse(L, opt_string_field(L, 1, "endpoint", ""), &endpoint);
  lua_getfield(L, 1, "credentials"); /* 4 */
  sfn_credentials_check(L, 4, &credentials);
  memset(&attempt, 0, sizeof attempt);
  attempt.user_agent = opt_string_field(L, 1, "user_agent", NULL);
  attempt.attempt = (int)opt_number_field(L, 3, "attempt", 1, 1, 100);
  attempt.max_attempts = (int)opt_number_field(L, 3, "max_attempts", 1, 1, 100);
  attempt.now = (long long)opt_number_field(L, 3, "time", (lua_Number)time(NULL),
                                            0, LAST_SIGNABLE_SECOND);
  attempt.ttl = (long long)opt_number_field(L, 3, "ttl", 0, 0, LAST_SIGNABLE_SECOND);
  sfn_uuid4(invocation_id);
  attempt.invocation_id = opt_string_field(L, 3, "invocation_id", invocation_id);

  sfn_params_push_body(L, &params); /* 5 */
  body = lua_tolstring(L, 5, &body_len);
  sfn_request_sign(L, NULL, &endpoint, region, &credentials, body, body_len,
                   &attempt, &headers); /* 6: Authorization */
  lua_pushliteral(L, "POST");
  lua_pushstring(L, endpoint.url);
  lua_createtable(L, 0, (int)headers.count);
  for (i = 0; i < headers.count; i++) {
    lua_pushlstring(L, headers.list[i].name, headers.list[i].name_len);
    lua_pushlstring(L, headers.list[i].value, headers.list[i].value_len);
    lua_rawset(L, -3);
  }
  lua_pushvalue(L, 5);
  return 4;
}

void sfn_request_open(lua_State *L) {
  lua_pushcfunction(L, l_build_request);
  lua_setfield(L, -2, "build_request");
}

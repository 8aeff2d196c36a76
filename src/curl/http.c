/* libcurl plumbing: handle policy, reply capture, error mapping, and
 * sfn.curl.http_request for the credential providers. */
#include "http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../errors.h"

#define HTTP_REQUEST_MT "sfn.HttpRequest"
#define HTTP_REQUEST_REPLY_LIMIT (1024 * 1024)
/* A reply slower than this for this long is abandoned (a drip-feeding peer
 * would otherwise hold the attempt until `timeout`). */
#define LOW_SPEED_BYTES_PER_SECOND 256L
#define LOW_SPEED_SECONDS 5L

static int grow(char **buf, size_t *cap, size_t need) {
  size_t cap2 = *cap ? *cap : 4096;
  char *p;
  if (need <= *cap) return 1;
  while (cap2 < need) cap2 *= 2;
  p = realloc(*buf, cap2);
  if (p == NULL) return 0;
  *buf = p;
  *cap = cap2;
  return 1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  sfn_transfer *t = userdata;
  size_t n = size * nmemb;
  if (n > t->limit - t->len) { /* the cap counts bytes as they arrive */
    t->overflow = 1;
    return 0;
  }
  if (!grow(&t->body, &t->cap, t->len + n + 1)) return 0;
  memcpy(t->body + t->len, data, n);
  t->len += n;
  t->body[t->len] = '\0';
  return n;
}

static void copy_value(char *dst, size_t cap, const char *value, size_t len) {
  if (len >= cap) len = cap - 1;
  memcpy(dst, value, len);
  dst[len] = '\0';
}

static void reset_headers(sfn_transfer *t) {
  t->reason[0] = t->request_id[0] = t->error_type[0] = '\0';
  t->content_type[0] = t->date[0] = t->retry_after[0] = '\0';
  t->headers_len = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
  sfn_transfer *t = userdata;
  size_t n = size * nmemb, len = n, name_len;
  const char *colon, *value;
  while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n')) len--;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    /* A new status line (after 100 Continue, say): forget earlier headers. */
    const char *sp = memchr(data, ' ', len);
    reset_headers(t);
    if (sp != NULL) sp = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - data));
    if (sp != NULL)
      copy_value(t->reason, sizeof t->reason, sp + 1,
                 len - (size_t)(sp + 1 - data));
    return n;
  }
  colon = memchr(data, ':', len);
  if (colon == NULL) return n;
  name_len = (size_t)(colon - data);
  value = colon + 1;
  while (value < data + len && (*value == ' ' || *value == '\t')) value++;
  if (t->keep_all_headers) {
    if (!grow(&t->headers, &t->headers_cap, t->headers_len + len + 2)) return 0;
    memcpy(t->headers + t->headers_len, data, len);
    t->headers_len += len;
    t->headers[t->headers_len++] = '\n';
    t->headers[t->headers_len] = '\0';
  }
#define SFN_CAPTURE(header, field)                                   \
  if (name_len == sizeof(header) - 1 &&                              \
      strncasecmp(data, header, name_len) == 0) {                    \
    copy_value(t->field, sizeof t->field, value,                     \
               (size_t)(data + len - value));                        \
    return n;                                                        \
  }
  SFN_CAPTURE("x-amzn-RequestId", request_id)
  SFN_CAPTURE("X-Amzn-Errortype", error_type)
  SFN_CAPTURE("Content-Type", content_type)
  SFN_CAPTURE("Date", date)
  SFN_CAPTURE("x-amz-retry-after", retry_after)
#undef SFN_CAPTURE
  return n;
}

CURL *sfn_http_handle_new(sfn_transfer *t, const sfn_http_options *options) {
  CURL *curl = curl_easy_init();
  if (curl == NULL) return NULL;
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (options->ca_file != NULL)
    curl_easy_setopt(curl, CURLOPT_CAINFO, options->ca_file);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options->connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES_PER_SECOND);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_SECONDS);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t->error);
  return curl;
}

void sfn_http_free_headers(struct curl_slist *headers) {
  struct curl_slist *line;
  for (line = headers; line != NULL; line = line->next)
    OPENSSL_cleanse(line->data, strlen(line->data));
  curl_slist_free_all(headers);
}

void sfn_transfer_reset(sfn_transfer *t) {
  t->len = 0;
  t->overflow = 0;
  t->error[0] = '\0';
  if (t->body != NULL) t->body[0] = '\0';
  reset_headers(t);
}

void sfn_transfer_free(sfn_transfer *t) {
  free(t->body);
  free(t->headers);
  t->body = t->headers = NULL;
  t->len = t->cap = t->headers_len = t->headers_cap = 0;
}

CURLcode sfn_http_perform(CURL *curl, sfn_transfer *t, const char *method,
                          const char *url, struct curl_slist *headers,
                          const char *body, size_t body_len) {
  sfn_transfer_reset(t);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (body != NULL) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST,
                   strcmp(method, body != NULL ? "POST" : "GET") == 0 ? NULL
                                                                       : method);
  return curl_easy_perform(curl);
}

void sfn_http_push_error(lua_State *L, CURLcode rc, const sfn_transfer *t) {
  const char *detail = t->error[0] != '\0' ? t->error : curl_easy_strerror(rc);
  if (t->overflow) {
    lua_pushfstring(L, "reply larger than %d bytes", (int)t->limit);
    sfn_error_push(L, "ResponseError", lua_tostring(L, -1), 0, NULL, 0, 1);
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    lua_pushfstring(L, "timed out: %s", detail);
    sfn_error_push(L, "TimeoutError", lua_tostring(L, -1), 0, NULL, 1, 1);
  } else if (rc == CURLE_URL_MALFORMAT) {
    /* the URL itself: UNSUPPORTED_PROTOCOL here is the server's (an
     * HTTP/0.9 or garbage status line), endpoints are checked at sfn.new */
    lua_pushfstring(L, "bad endpoint: %s", detail);
    sfn_error_push(L, "ConfigError", lua_tostring(L, -1), 0, NULL, 0, 1);
  } else {
    /* TLS verification failures will not heal on their own; resets,
     * refusals and cut-off replies may. */
    int transient = rc != CURLE_PEER_FAILED_VERIFICATION &&
                    rc != CURLE_SSL_CACERT_BADFILE &&
                    rc != CURLE_SSL_CERTPROBLEM;
    lua_pushfstring(L, "%s", detail);
    sfn_error_push(L, "TransportError", lua_tostring(L, -1), 0, NULL,
                   transient, 1);
  }
  lua_remove(L, -2);
}

int sfn_http_push_oom(lua_State *L) {
  sfn_error_push(L, "TransportError", "out of memory", 0, NULL, 0, 1);
  return 0;
}

void sfn_http_global_init(lua_State *L) {
  static int done = 0;
  if (done) return;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    sfn_error_raisef(L, "TransportError", "curl_global_init failed");
  done = 1;
}

/* core.http_request: one-shot state for a request, freed by __gc too. */
typedef struct http_request {
  CURL *curl;
  struct curl_slist *headers;
  sfn_transfer transfer;
} http_request;

static int http_request_gc(lua_State *L) {
  http_request *r = luaL_checkudata(L, 1, HTTP_REQUEST_MT);
  if (r->curl != NULL) curl_easy_cleanup(r->curl);
  sfn_http_free_headers(r->headers);
  sfn_transfer_free(&r->transfer);
  r->curl = NULL;
  r->headers = NULL;
  return 0;
}

static const char *string_field(lua_State *L, int idx, const char *name,
                                const char *def) {
  const char *value;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError", "http_request: %s must be a string",
                     name);
  value = lua_isnil(L, -1) ? def : lua_tostring(L, -1);
  lua_pop(L, 1); /* kept alive by the table */
  return value;
}

static long ms_field(lua_State *L, int idx, const char *name, double def) {
  double seconds;
  lua_getfield(L, idx, name);
  seconds = lua_isnil(L, -1) ? def : lua_tonumber(L, -1);
  if (!(seconds > 0 && seconds < 86400))
    sfn_error_raisef(L, "ValidationError",
                     "http_request: %s must be seconds in (0, 86400)", name);
  lua_pop(L, 1);
  return (long)(seconds * 1000 + 0.5);
}

/* Turns {name = value} into a curl_slist held by r; rejects CR/LF. */
static void set_request_headers(lua_State *L, int idx, http_request *r) {
  lua_getfield(L, idx, "headers");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  if (!lua_istable(L, -1))
    sfn_error_raisef(L, "ValidationError", "http_request: headers must be a table");
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    struct curl_slist *next;
    const char *line;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      sfn_error_raisef(L, "ValidationError",
                       "http_request: headers must map strings to strings");
    line = lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
    if (strlen(line) != lua_rawlen(L, -1) || strpbrk(line, "\r\n") != NULL)
      sfn_error_raisef(L, "ValidationError",
                       "http_request: header %s holds a CR, LF or NUL",
                       lua_tostring(L, -3));
    next = curl_slist_append(r->headers, line);
    if (next == NULL) sfn_error_raisef(L, "TransportError", "out of memory");
    r->headers = next;
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

/* Pushes the kept header lines as { lowercased name = value }. */
static void push_reply_headers(lua_State *L, const sfn_transfer *t) {
  const char *p = t->headers, *end = t->headers + t->headers_len;
  lua_newtable(L);
  while (p != NULL && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    const char *value = colon + 1;
    luaL_Buffer name;
    size_t i;
    luaL_buffinit(L, &name);
    for (i = 0; p + i < colon; i++) luaL_addchar(&name, (char)tolower((unsigned char)p[i]));
    luaL_pushresult(&name);
    while (value < eol && (*value == ' ' || *value == '\t')) value++;
    lua_pushlstring(L, value, (size_t)(eol - value));
    lua_rawset(L, -3);
    p = eol + 1;
  }
}

/** Sends one HTTP request (credential providers use it).
 * @function http_request
 * @tparam table t { method=, url=, headers={name=value}, body=, timeout=s, connect_timeout=s, ca_file= }
 * @treturn int status, table headers (lowercased names), string body
 * @raise TransportError, TimeoutError, ResponseError, ValidationError */
static int l_http_request(lua_State *L) {
  http_request *r;
  sfn_http_options options;
  const char *method, *url, *body;
  size_t body_len = 0;
  long status = 0;
  CURLcode rc;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  method = string_field(L, 1, "method", "GET");
  url = string_field(L, 1, "url", NULL);
  if (url == NULL) sfn_error_raisef(L, "ValidationError", "http_request: url required");
  body = string_field(L, 1, "body", NULL);
  if (body != NULL) {
    lua_getfield(L, 1, "body");
    body_len = lua_rawlen(L, -1);
    lua_pop(L, 1);
  }
  options.timeout_ms = ms_field(L, 1, "timeout", 2);
  options.connect_timeout_ms = ms_field(L, 1, "connect_timeout", 1);
  options.ca_file = string_field(L, 1, "ca_file", NULL);

  r = lua_newuserdata(L, sizeof *r); /* 2 */
  memset(r, 0, sizeof *r);
  luaL_setmetatable(L, HTTP_REQUEST_MT);
  r->transfer.limit = HTTP_REQUEST_REPLY_LIMIT;
  r->transfer.keep_all_headers = 1;
  set_request_headers(L, 1, r);
  sfn_http_global_init(L);
  r->curl = sfn_http_handle_new(&r->transfer, &options);
  if (r->curl == NULL) sfn_error_raisef(L, "TransportError", "out of memory");
  rc = sfn_http_perform(r->curl, &r->transfer, method, url, r->headers, body,
                        body_len);
  if (rc != CURLE_OK) {
    sfn_http_push_error(L, rc, &r->transfer);
    return sfn_error_throw(L);
  }
  curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
  lua_pushinteger(L, (lua_Integer)status);
  push_reply_headers(L, &r->transfer);
  lua_pushlstring(L, r->transfer.body != NULL ? r->transfer.body : "",
                  r->transfer.len);
  lua_pushcfunction(L, http_request_gc); /* free now, not at the next GC */
  lua_pushvalue(L, 2);
  lua_call(L, 1, 0);
  return 3;
}

void sfn_http_open(lua_State *L) {
  luaL_newmetatable(L, HTTP_REQUEST_MT);
  lua_pushcfunction(L, http_request_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_http_request);
  lua_setfield(L, -2, "http_request");
}

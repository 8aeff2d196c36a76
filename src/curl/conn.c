/* sfn_curl_api: the per-client connection behind sfn.core's libcurl driver.
 * The easy handle is kept alive between calls and made anew in a forked
 * child (a handle inherited from the parent shares its sockets, so the
 * child abandons it: cleaning it up would close the parent's TLS
 * sessions). */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../curl_api.h"
#include "http.h"

/* Largest reply buffer a connection keeps for the next reply. */
#define BODY_KEEP_MAX (1024 * 1024)

struct sfn_curl_conn {
  CURL *curl;
  pid_t pid;                  /* the process that made curl */
  struct curl_slist *headers; /* the attempt's header lines, wiped after */
  sfn_transfer transfer;
  sfn_http_options http;
  char *ca_file;
};

static sfn_curl_conn *conn_open(const sfn_curl_options *options) {
  sfn_curl_conn *conn = calloc(1, sizeof *conn);
  if (conn == NULL) return NULL;
  if (options->ca_file != NULL) {
    conn->ca_file = strdup(options->ca_file);
    if (conn->ca_file == NULL) {
      free(conn);
      return NULL;
    }
  }
  conn->http.connect_timeout_ms = options->connect_timeout_ms;
  conn->http.timeout_ms = options->timeout_ms;
  conn->http.ca_file = conn->ca_file;
  conn->transfer.limit = options->reply_limit;
  return conn;
}

static void conn_close(sfn_curl_conn *conn) {
  if (conn == NULL) return;
  if (conn->curl != NULL && conn->pid == getpid()) curl_easy_cleanup(conn->curl);
  sfn_http_free_headers(conn->headers);
  sfn_transfer_free(&conn->transfer);
  free(conn->ca_file);
  free(conn);
}

static CURL *conn_handle(lua_State *L, sfn_curl_conn *conn) {
  pid_t pid = getpid();
  if (conn->curl != NULL && conn->pid != pid) conn->curl = NULL;
  if (conn->curl == NULL) {
    sfn_http_global_init(L);
    conn->curl = sfn_http_handle_new(&conn->transfer, &conn->http);
    conn->pid = pid;
  }
  return conn->curl;
}

/* Replaces conn->headers with the attempt's lines; 0 when out of memory. */
static int set_header_lines(sfn_curl_conn *conn, const sfn_header *list,
                            size_t count) {
  size_t i;
  sfn_http_free_headers(conn->headers);
  conn->headers = NULL;
  for (i = 0; i <= count; i++) {
    /* "Expect:" last: no 100-continue round trip for our small bodies. */
    const sfn_header *x = i < count ? &list[i] : NULL;
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
    next = curl_slist_append(conn->headers, line);
    OPENSSL_cleanse(line, n); /* may hold the session token */
    free(line);
    if (next == NULL) return 0;
    conn->headers = next;
  }
  return 1;
}

#define COPY_FIELD(dst, src) memcpy((dst), (src), sizeof(dst))

static int conn_post(lua_State *L, sfn_curl_conn *conn, const char *url,
                     const sfn_header *headers, size_t header_count,
                     const char *body, size_t body_len, sfn_curl_reply *out) {
  CURL *curl = conn_handle(L, conn);
  sfn_transfer *t = &conn->transfer;
  CURLcode rc;
  int ok = curl != NULL && set_header_lines(conn, headers, header_count);
  if (!ok) {
    sfn_http_free_headers(conn->headers);
    conn->headers = NULL;
    return sfn_http_push_oom(L);
  }
  rc = sfn_http_perform(curl, t, "POST", url, conn->headers, body, body_len);
  sfn_http_free_headers(conn->headers); /* wiped: they hold the signature */
  conn->headers = NULL;
  if (rc != CURLE_OK) {
    sfn_http_push_error(L, rc, t);
    return 0;
  }
  memset(out, 0, sizeof *out);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
  COPY_FIELD(out->reason, t->reason);
  COPY_FIELD(out->request_id, t->request_id);
  COPY_FIELD(out->error_type, t->error_type);
  COPY_FIELD(out->content_type, t->content_type);
  COPY_FIELD(out->date, t->date);
  COPY_FIELD(out->retry_after, t->retry_after);
  /* the body changes hands until reuse gives it back */
  out->body = t->body;
  out->body_len = t->len;
  out->body_cap = t->cap;
  t->body = NULL;
  t->len = t->cap = 0;
  return 1;
}

static void conn_reuse(sfn_curl_conn *conn, char *body, size_t cap) {
  sfn_transfer *t = &conn->transfer;
  if (t->body != NULL || cap > BODY_KEEP_MAX) { /* a re-entrant call's, or huge */
    free(body);
    return;
  }
  t->body = body;
  t->cap = cap;
}

static const char *version_string(void) {
  return curl_version_info(CURLVERSION_NOW)->version;
}

const sfn_curl_api sfn_curl_api_impl = {SFN_CURL_API_VERSION, conn_open,
                                        conn_close, conn_post, conn_reuse,
                                        version_string};

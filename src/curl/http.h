/* libcurl plumbing shared by the client and core.http_request: safe handle
 * defaults, reply capture with a size cap, and curl errors as sfn.Errors. */
#ifndef SFN_HTTP_H
#define SFN_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "../compat.h"

/* One reply as it arrives. Lives inside a userdata; sfn_transfer_free is
 * idempotent. */
typedef struct sfn_transfer {
  char *body;
  size_t len, cap, limit;
  int overflow;                 /* the reply passed limit: transfer aborted */
  char reason[64];              /* reason phrase of the last status line */
  char request_id[128];
  char error_type[256];
  char content_type[128];
  char date[64];
  char retry_after[32];
  int keep_all_headers;         /* also collect every header line */
  char *headers;                /* "name: value\n" lines when kept */
  size_t headers_len, headers_cap;
  char error[CURL_ERROR_SIZE];
} sfn_transfer;

typedef struct sfn_http_options {
  long connect_timeout_ms;
  long timeout_ms;
  const char *ca_file;          /* NULL: the system store */
} sfn_http_options;

/* A new easy handle with our fixed policy (no redirects, http/https only,
 * TLS verified, no signals, callbacks into t). NULL when out of memory. */
CURL *sfn_http_handle_new(sfn_transfer *t, const sfn_http_options *options);

/* Clears the reply for a new attempt (keeps the buffer). */
void sfn_transfer_reset(sfn_transfer *t);

/* Frees the buffers; idempotent. */
void sfn_transfer_free(sfn_transfer *t);

/* Frees a header list after wiping each line (they may hold tokens). */
void sfn_http_free_headers(struct curl_slist *headers);

/* Sends one request. body may be NULL for no body. */
CURLcode sfn_http_perform(CURL *curl, sfn_transfer *t, const char *method,
                          const char *url, struct curl_slist *headers,
                          const char *body, size_t body_len);

/* Pushes the sfn.Error (not raised) for a failed transfer. */
void sfn_http_push_error(lua_State *L, CURLcode rc, const sfn_transfer *t);

/* Calls curl_global_init once per process, before the first handle (not
 * at require time: it costs OpenSSL's start-up). */
void sfn_http_global_init(lua_State *L);

/* Pushes a TransportError "out of memory" (not raised); returns 0. */
int sfn_http_push_oom(lua_State *L);

/* Registers http_request on the module table at the top of the stack. */
void sfn_http_open(lua_State *L);

#endif

/* The C interface between sfn.core's libcurl driver and the sfn.curl module,
 * which alone links libcurl. sfn.core finds it at run time, the first time
 * a client sends through libcurl, as the lightuserdata `sfn.curl._api`: a
 * process that only uses cosockets or function transports never maps
 * libcurl. */
#ifndef SFN_CURL_API_H
#define SFN_CURL_API_H

#include <stddef.h>

#include "compat.h"
#include "sigv4.h"

#define SFN_CURL_API_VERSION 3

/* One connection (a curl easy handle and its buffers), per client. */
typedef struct sfn_curl_conn sfn_curl_conn;

typedef struct sfn_curl_options {
  long connect_timeout_ms;
  long timeout_ms;
  const char *ca_file;  /* NULL: the system store; copied by open */
  size_t reply_limit;   /* bytes; a longer reply is a ResponseError */
} sfn_curl_options;

/* One reply. The body belongs to the receiver, so that nothing points into
 * the connection once Lua runs again: it frees it or hands it back with
 * reuse once it is done with it. */
typedef struct sfn_curl_reply {
  long status;
  char reason[64];
  char request_id[128];
  char error_type[256];
  char content_type[128];
  char date[64];
  char retry_after[32]; /* x-amz-retry-after (milliseconds), or "" */
  char *body;  /* malloc'd, NUL-terminated; may be NULL when empty */
  size_t body_len;
  size_t body_cap; /* bytes allocated at body */
} sfn_curl_reply;

typedef struct sfn_curl_api {
  int version; /* SFN_CURL_API_VERSION */
  /* A connection for these options, or NULL when out of memory. */
  sfn_curl_conn *(*open)(const sfn_curl_options *options);
  void (*close)(sfn_curl_conn *conn);
  /* POSTs body to url with the headers. Fills *out and returns 1, or pushes
   * the transfer's sfn.Error (not raised) and returns 0. Calls no Lua code
   * but the error's construction. */
  int (*post)(lua_State *L, sfn_curl_conn *conn, const char *url,
              const sfn_header *headers, size_t header_count,
              const char *body, size_t body_len, sfn_curl_reply *out);
  /* Takes back a reply's body buffer (cap bytes) for the connection's next
   * reply, or frees it: the connection holds one buffer at most, of a
   * bounded size. Without it, a buffer of each reply's size is allocated
   * and freed between the allocations of the page it decodes into, and
   * malloc's heap grows in fragments (peak RSS over 300 pages of 1,000 Map
   * Runs: +1.2 MiB over one page, +0.5 MiB with reuse). */
  void (*reuse)(sfn_curl_conn *conn, char *body, size_t cap);
  const char *(*version_string)(void);
} sfn_curl_api;

#endif

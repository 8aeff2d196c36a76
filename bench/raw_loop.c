/* The transport limit: POSTs the bytes of one ListMapRuns request (the
 * headers and body sfn sends, signature included but never recomputed) to
 * URL with one reused libcurl handle, N times, keeping each reply body in a
 * reused buffer as sfn does. Prints one JSON line:
 *   {"bench":"raw_loop","n":N,"ns_per_call":...,"bytes":reply bytes}
 *
 *   raw_loop URL N [WARMUP [sfn]]
 *
 * With "sfn" the handle also gets the options src/http.c gives the client's
 * handle (protocols, TLS verification, timeouts, low-speed limit, TCP
 * keepalive, a header callback) and the URL, headers and body are set again
 * before every call, as sfn_http_perform does: the difference to the plain
 * loop is what those options cost.
 *
 * Exits non-zero when a call fails or answers other than 200. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  buf *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *p;
    while (cap < b->len + n + 1) cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
  return n;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char body[] =
    "{\"executionArn\":\"arn:aws:states:us-east-1:123456789012:execution:"
    "orders-nightly-reconcile:run-2024-11-24T02-00-00Z-7d3f9a1c\","
    "\"maxResults\":100}";

/* What sfn puts on the wire for one attempt (request.c sfn_request_sign and
 * client.c set_header_lines), with fixed values of the same lengths. */
static const char *const header_lines[] = {
    "Content-Type: application/x-amz-json-1.0",
    "X-Amz-Target: AWSStepFunctions.ListMapRuns",
    "X-Amz-Date: 20241124T020000Z",
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20241124/"
    "us-east-1/states/aws4_request, SignedHeaders=content-type;host;"
    "x-amz-date;x-amz-target, Signature="
    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    "User-Agent: sfn/0.1.0 lua/5.4 libcurl/7.88.1",
    "amz-sdk-invocation-id: 0f9a8b7c-6d5e-4f3a-9b2c-1d0e9f8a7b6c",
    "amz-sdk-request: attempt=1; max=3",
    "Expect:",
    NULL};

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
  (void)data;
  (void)userdata;
  return size * nmemb;
}

static struct curl_slist *headers;
static int sfn_options;
static const char *url;

static int call(CURL *curl, buf *b) {
  long status = 0;
  CURLcode rc;
  b->len = 0;
  if (sfn_options) {
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(sizeof body - 1));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
  }
  rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    fprintf(stderr, "raw_loop: %s\n", curl_easy_strerror(rc));
    return 0;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    fprintf(stderr, "raw_loop: HTTP %ld\n", status);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  CURL *curl;
  buf b = {NULL, 0, 0};
  long n, warmup, i;
  double t0, t1;
  int k;
  if (argc < 3) {
    fprintf(stderr, "usage: raw_loop URL N [WARMUP [sfn]]\n");
    return 2;
  }
  n = atol(argv[2]);
  warmup = argc > 3 ? atol(argv[3]) : n / 10 + 1;
  sfn_options = argc > 4 && strcmp(argv[4], "sfn") == 0;
  url = argv[1];
  if (n < 1) return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl = curl_easy_init();
  if (curl == NULL) return 1;
  for (k = 0; header_lines[k] != NULL; k++)
    headers = curl_slist_append(headers, header_lines[k]);
  curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(sizeof body - 1));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  if (sfn_options) { /* src/http.c sfn_http_handle_new */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 256L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 5L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  }
  for (i = 0; i < warmup; i++)
    if (!call(curl, &b)) return 1;
  t0 = now_ns();
  for (i = 0; i < n; i++)
    if (!call(curl, &b)) return 1;
  t1 = now_ns();
  printf("{\"bench\":\"raw_loop\",\"n\":%ld,\"ns_per_call\":%.0f,\"bytes\":%zu,"
         "\"sfn_options\":%d}\n",
         n, (t1 - t0) / (double)n, b.len, sfn_options);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  free(b.p);
  curl_global_cleanup();
  return 0;
}

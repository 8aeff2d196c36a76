/* SigV4 cost from C, linked against the build's own objects (sigv4.o,
 * request.o): what every client:list_map_runs attempt pays, without the Lua
 * call around it. Prints JSON lines, ns per operation:
 *   authorize      sfn_sigv4_authorize with a warm signing-key cache (one
 *                  ListMapRuns request: 4 signed headers, 100-byte body)
 *   request_sign   sfn_request_sign with a warm cache: the above plus the
 *                  header set the client sends
 *   derive         sfn_sigv4_authorize with no cache (key derived each time)
 * and the OpenSSL primitives the signer is made of, as it calls them and as
 * they could be called:
 *   sha256_oneshot     SHA256() on the ~400-byte canonical request
 *   sha256_prefetched  EVP_Digest with an EVP_MD fetched once
 *   hmac_oneshot       HMAC(EVP_sha256(), 32-byte key, ~120-byte string)
 *   sha256_ctx_reuse   one EVP_MD_CTX and a prefetched EVP_MD, reused
 *   hmac_ctx_dup       HMAC from an EVP_MAC_CTX keyed once, dup'd per use
 *   hmac_precomputed   HMAC by hand: SHA-256 contexts that absorbed the
 *                      key's ipad/opad block once (per signing key), copied
 *                      per use with EVP_MD_CTX_copy_ex into reused contexts
 *
 *   sign_loop N [OP]    (only OP when given: for callgrind) */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#include "sigv4.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *what, long n, double t0, double t1) {
  printf("{\"bench\":\"sign_c\",\"op\":\"%s\",\"n\":%ld,\"ns\":%.1f}\n", what,
         n, (t1 - t0) / (double)n);
  fflush(stdout);
}

static const char body[] =
    "{\"executionArn\":\"arn:aws:states:us-east-1:123456789012:execution:"
    "orders-nightly-reconcile:run-2024-11-24T02-00-00Z-7d3f9a1c\","
    "\"maxResults\":100}";
static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static void fill_request(sfn_sigv4_request *req, sfn_header h[4]) {
  h[0] = (sfn_header){"Host", 4, "127.0.0.1:8080", 14};
  h[1] = (sfn_header){"Content-Type", 12, SFN_CONTENT_TYPE,
                      sizeof SFN_CONTENT_TYPE - 1};
  h[2] = (sfn_header){"X-Amz-Target", 12, SFN_TARGET, sizeof SFN_TARGET - 1};
  h[3] = (sfn_header){"X-Amz-Date", 10, "20241124T020000Z", 16};
  memset(req, 0, sizeof *req);
  req->method = "POST";
  req->path = "/";
  req->path_len = 1;
  req->headers = h;
  req->header_count = 4;
  req->payload = body;
  req->payload_len = sizeof body - 1;
  req->amz_date = "20241124T020000Z";
  req->region = "us-east-1";
  req->service = "states";
  req->access_key_id = "AKIDEXAMPLE";
  req->secret_access_key = secret;
  req->secret_len = sizeof secret - 1;
  req->normalize_path = 1;
}

static const char *only;

static int want(const char *op) {
  return only == NULL || strcmp(only, op) == 0;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000, i;
  lua_State *L = luaL_newstate();
  sfn_sigv4_cache cache;
  sfn_sigv4_request req;
  sfn_header h[4];
  double t0, t1;
  unsigned char out[32];
  char creq[400];
  if (n < 1) return 2;
  only = argc > 2 ? argv[2] : NULL;
  memset(&cache, 0, sizeof cache);
  fill_request(&req, h);

  if (want("authorize")) {
    /* warm */
    for (i = 0; i < 1000; i++) {
      sfn_sigv4_authorize(L, &cache, &req, 0);
      lua_pop(L, 1);
    }
    t0 = now_ns();
    for (i = 0; i < n; i++) {
      sfn_sigv4_authorize(L, &cache, &req, 0);
      lua_pop(L, 1);
    }
    t1 = now_ns();
    report("authorize", n, t0, t1);
  }

  if (want("request_sign")) {
    sfn_endpoint ep;
    sfn_credentials cr = {"AKIDEXAMPLE",     11,   secret,
                          sizeof secret - 1, NULL, 0};
    sfn_attempt at;
    memset(&at, 0, sizeof at);
    at.now = 1732413600;
    at.attempt = 1;
    at.max_attempts = 3;
    at.invocation_id = "0f9a8b7c-6d5e-4f3a-9b2c-1d0e9f8a7b6c";
    at.user_agent = "sfn/0.1.0 lua/5.4 libcurl/7.88.1";
    sfn_signed_headers sh;
    sfn_endpoint_parse(L, "http://127.0.0.1:8080", &ep);
    for (i = 0; i < 1000; i++) {
      sfn_request_sign(L, &cache, &ep, "us-east-1", &cr, body, sizeof body - 1,
                       &at, &sh);
      lua_pop(L, 1);
    }
    t0 = now_ns();
    for (i = 0; i < n; i++) {
      sfn_request_sign(L, &cache, &ep, "us-east-1", &cr, body, sizeof body - 1,
                       &at, &sh);
      lua_pop(L, 1);
    }
    t1 = now_ns();
    report("request_sign", n, t0, t1);
  }

  if (want("derive")) {
    t0 = now_ns();
    for (i = 0; i < n / 4 + 1; i++) {
      sfn_sigv4_authorize(L, NULL, &req, 0);
      lua_pop(L, 1);
    }
    t1 = now_ns();
    report("derive", n / 4 + 1, t0, t1);
  }

  memset(creq, 'a', sizeof creq);
  if (want("sha256_oneshot")) {
    t0 = now_ns();
    for (i = 0; i < n; i++)
      SHA256((const unsigned char *)creq, sizeof creq, out);
    t1 = now_ns();
    report("sha256_oneshot", n, t0, t1);
  }

  if (want("sha256_prefetched")) {
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    unsigned int len;
    t0 = now_ns();
    for (i = 0; i < n; i++) EVP_Digest(creq, sizeof creq, out, &len, md, NULL);
    t1 = now_ns();
    report("sha256_prefetched", n, t0, t1);
    EVP_MD_free(md);
  }

  if (want("hmac_oneshot")) {
    unsigned char key[32];
    unsigned int len;
    memset(key, 7, sizeof key);
    t0 = now_ns();
    for (i = 0; i < n; i++)
      HMAC(EVP_sha256(), key, 32, (const unsigned char *)creq, 120, out, &len);
    t1 = now_ns();
    report("hmac_oneshot", n, t0, t1);
  }

  if (want("hmac_ctx_dup")) {
    unsigned char key[32];
    size_t len;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *keyed = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[2];
    memset(key, 7, sizeof key);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC_init(keyed, key, sizeof key, params);
    t0 = now_ns();
    for (i = 0; i < n; i++) {
      EVP_MAC_CTX *c = EVP_MAC_CTX_dup(keyed);
      EVP_MAC_update(c, (const unsigned char *)creq, 120);
      EVP_MAC_final(c, out, &len, sizeof out);
      EVP_MAC_CTX_free(c);
    }
    t1 = now_ns();
    report("hmac_ctx_dup", n, t0, t1);
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
  }

  if (want("sha256_ctx_reuse")) {
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len;
    t0 = now_ns();
    for (i = 0; i < n; i++) {
      EVP_DigestInit_ex(c, md, NULL);
      EVP_DigestUpdate(c, creq, sizeof creq);
      EVP_DigestFinal_ex(c, out, &len);
    }
    t1 = now_ns();
    report("sha256_ctx_reuse", n, t0, t1);
    EVP_MD_CTX_free(c);
    EVP_MD_free(md);
  }

  if (want("hmac_precomputed")) {
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ipad = EVP_MD_CTX_new(), *opad = EVP_MD_CTX_new();
    EVP_MD_CTX *work = EVP_MD_CTX_new();
    unsigned char key[32], block[64], inner[32];
    unsigned int len;
    int k;
    memset(key, 7, sizeof key);
    memset(block, 0x36, sizeof block);
    for (k = 0; k < 32; k++) block[k] ^= key[k];
    EVP_DigestInit_ex(ipad, md, NULL);
    EVP_DigestUpdate(ipad, block, 64);
    memset(block, 0x5c, sizeof block);
    for (k = 0; k < 32; k++) block[k] ^= key[k];
    EVP_DigestInit_ex(opad, md, NULL);
    EVP_DigestUpdate(opad, block, 64);
    t0 = now_ns();
    for (i = 0; i < n; i++) {
      EVP_MD_CTX_copy_ex(work, ipad);
      EVP_DigestUpdate(work, creq, 120);
      EVP_DigestFinal_ex(work, inner, &len);
      EVP_MD_CTX_copy_ex(work, opad);
      EVP_DigestUpdate(work, inner, 32);
      EVP_DigestFinal_ex(work, out, &len);
    }
    t1 = now_ns();
    report("hmac_precomputed", n, t0, t1);
    {
      unsigned char ref[32];
      HMAC(EVP_sha256(), key, 32, (const unsigned char *)creq, 120, ref, &len);
      if (memcmp(ref, out, 32) != 0)
        fprintf(stderr, "hmac_precomputed: mismatch\n");
    }
    EVP_MD_CTX_free(ipad);
    EVP_MD_CTX_free(opad);
    EVP_MD_CTX_free(work);
    EVP_MD_free(md);
  }
  lua_close(L);
  return 0;
}

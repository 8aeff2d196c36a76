/* AWS Signature Version 4 (header signing) with OpenSSL. */
#ifndef SFN_SIGV4_H
#define SFN_SIGV4_H

#include <stddef.h>

#include <openssl/types.h>

#include "compat.h"

/* The derived signing key for one (date, region, service, secret), and the
 * OpenSSL objects the signer reuses from call to call. Lives inside a
 * userdata (the client) whose __gc calls sfn_sigv4_cache_clear; starts
 * zeroed. The key itself is kept only as HMAC-SHA256 state: inner and outer
 * hold SHA-256 after the key's ipad and opad blocks (RFC 2104), so a
 * signature costs two context copies and no key setup. The objects are made
 * on first use; OpenSSL wipes the digest states when they are freed. Not
 * shared between Lua states (a client belongs to one). */
typedef struct sfn_sigv4_cache {
  int valid;                       /* inner/outer hold the key for: */
  char scope_date[9];              /* YYYYMMDD */
  char region[64];
  char service[32];
  unsigned char secret_digest[32]; /* SHA-256 of the secret the key is for */
  EVP_MD *md;                      /* SHA-256, fetched once */
  EVP_MD_CTX *work;                /* scratch for each digest */
  EVP_MD_CTX *inner, *outer;       /* HMAC key states */
} sfn_sigv4_cache;

typedef struct sfn_header {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} sfn_header;

typedef struct sfn_sigv4_request {
  const char *method;
  const char *path;                /* raw (not percent-encoded) path */
  size_t path_len;
  const char *query;               /* raw query without '?', or NULL */
  size_t query_len;
  const sfn_header *headers;       /* every header to sign: any case, any
                                      order, repeats allowed; must include
                                      host and x-amz-date (and the token) */
  size_t header_count;
  const char *payload;
  size_t payload_len;
  const char *amz_date;            /* "YYYYMMDDTHHMMSSZ" */
  const char *region;
  const char *service;
  const char *access_key_id;
  const char *secret_access_key;
  size_t secret_len;
  int normalize_path;              /* remove . and .. segments, collapse // */
} sfn_sigv4_request;

/* Pushes the Authorization header value. With debug != 0 it first pushes the
 * canonical request and the string to sign, so 3 values end up pushed
 * (canonical request, string to sign, authorization). cache may be NULL.
 * Raises only on memory errors or an OpenSSL failure (sfn.Error). */
void sfn_sigv4_authorize(lua_State *L, sfn_sigv4_cache *cache,
                         const sfn_sigv4_request *req, int debug);

/* Frees the cache's OpenSSL objects and wipes it (back to all zeros);
 * idempotent. */
void sfn_sigv4_cache_clear(sfn_sigv4_cache *cache);

/* Registers core.sign (the generic signer used by the fixture suite and the
 * STS client) on the module table at the top of the stack. */
void sfn_sigv4_open(lua_State *L);

#endif

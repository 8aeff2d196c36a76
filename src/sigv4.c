/* AWS Signature Version 4, header signing, with OpenSSL 3 (libcrypto).
 *
 * sfn_sigv4_authorize builds the canonical request, the string to sign and
 * the Authorization value for one request. The rules are those of
 * spec/fixtures/sigv4/README.md ("Rules that reproduce every case"):
 *   - payload hash: lowercase hex SHA-256 of the body;
 *   - canonical URI: dot segments removed and repeated '/' collapsed when
 *     normalize_path is set (botocore's remove_dot_segments), then every
 *     byte outside A-Za-z0-9-._~ and '/' percent-encoded with uppercase hex;
 *   - canonical query: split on '&' and the first '=', percent-decoded,
 *     re-encoded ('/' encoded too), sorted by key then value;
 *   - canonical headers: names lowercased, values trimmed with inner runs of
 *     whitespace collapsed to one space, repeated names joined with ',' in
 *     order of appearance, sorted by name;
 *   - signing key: HMAC chain "AWS4"+secret, date, region, service,
 *     "aws4_request", cached per (date, region, service, SHA-256(secret)).
 *
 * Speed: no malloc of ours. The canonical request and the string to sign are
 * written into fixed C-stack buffers and spill into a luaL_Buffer only when
 * they outgrow them (long session tokens, many headers); the header index
 * and any larger scratch is a lua_newuserdata that the GC reclaims if a
 * Lua call raises. Every secret-derived byte that lands in a C buffer is
 * wiped with OPENSSL_cleanse before the next call that can raise.
 *
 * OpenSSL 3 costs more per call than per byte: SHA256() and HMAC() fetch
 * the algorithm by name and allocate contexts on every call. So the signer
 * fetches SHA-256 once per cache (client), keeps its digest contexts there
 * (EVP_DigestInit_ex with the same EVP_MD reuses the provider context), and
 * keeps the signing key as HMAC ipad/opad states: a signature is two
 * EVP_MD_CTX_copy_ex plus the hashing itself (RFC 2104, the same bytes as
 * HMAC()). Without a cache (core.build_request, core.sign with cache=false)
 * the objects live in a scratch cache userdata, freed before returning and
 * by its __gc if anything raises. No Lua call runs inside a digest, so a
 * __gc that closes the client (clearing the cache) finds nothing half-done;
 * crypto_ready remakes what it freed.
 */
#include "sigv4.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "errors.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_EMPTY_SHA256 \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_CACHE_MT "sfn.SigV4Cache"

/* Headers sorted through an index on the C stack up to this count. */
#define SIGV4_STACK_HEADERS 32
/* core.sign refuses more headers than this (keeps its Lua stack use, two
 * slots a header, far below LuaJIT's limit for C functions). */
#define SIGV4_MAX_HEADERS 1000
/* Fixed buffers; longer text spills into a luaL_Buffer or a userdata. */
#define SIGV4_CREQ_STACK 4096
#define SIGV4_STS_STACK 256
#define SIGV4_PATH_STACK 512

static const char hexdigits[] = "0123456789abcdef";
static const char HEXDIGITS[] = "0123456789ABCDEF";

/* Lowercase hex; restrict lets the compiler keep in[] in registers (the
 * char stores could otherwise alias it). */
static void hex_encode(const unsigned char *restrict in, size_t len,
                       char *restrict out) {
  size_t i;
  for (i = 0; i < len; i++) {
    unsigned char b = in[i];
    out[2 * i] = hexdigits[b >> 4];
    out[2 * i + 1] = hexdigits[b & 15];
  }
}

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

/* ' ', or '\t' '\n' '\v' '\f' '\r' (9..13); one comparison for the usual
 * byte above ' '. */
static int is_space(unsigned char c) {
  return c <= ' ' && (c == ' ' || (unsigned)(c - '\t') <= '\r' - '\t');
}

static unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* ------------------------------------------------------------------------ */
/* OpenSSL                                                                   */

/* SHA-256 and HMAC-SHA256 fail only when OpenSSL cannot fetch the algorithm
 * (a broken OPENSSL_CONF or provider setup, e.g. a FIPS-only configuration
 * that does not load) or runs out of memory. That is neither the request's
 * nor the credentials' fault and another attempt would fail the same way,
 * so it is raised as a non-retryable ConfigError carrying OpenSSL's reason.
 * Callers wipe their secret buffers before calling this. */
static int crypto_fail(lua_State *L, const char *what) {
  char reason[256];
  unsigned long e = ERR_get_error();
  if (e != 0)
    ERR_error_string_n(e, reason, sizeof reason);
  else
    strcpy(reason, "no error queued");
  ERR_clear_error();
  return sfn_error_raisef(L, "ConfigError", "SigV4: OpenSSL %s failed (%s)",
                          what, reason);
}

/* Makes the cache's OpenSSL objects that are missing: on first use, and
 * again after a re-entrant call (a __gc run by an allocation) closed the
 * client and cleared them. Returns 0 on failure; what was made stays for
 * sfn_sigv4_cache_clear. Never calls Lua. */
static int crypto_ready(sfn_sigv4_cache *c) {
  if (c->md == NULL && (c->md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
    return 0;
  if (c->work == NULL && (c->work = EVP_MD_CTX_new()) == NULL) return 0;
  if (c->inner == NULL && (c->inner = EVP_MD_CTX_new()) == NULL) return 0;
  if (c->outer == NULL && (c->outer = EVP_MD_CTX_new()) == NULL) return 0;
  return 1;
}

/* SHA-256 of a || b (b may be empty) in the work context: EVP_DigestInit_ex
 * with the same fetched EVP_MD keeps the provider context, so this neither
 * fetches nor allocates. The caller has run crypto_ready. */
static int sha256_2(sfn_sigv4_cache *c, const void *a, size_t alen,
                    const void *b, size_t blen, unsigned char out[32]) {
  return EVP_DigestInit_ex(c->work, c->md, NULL) &&
         EVP_DigestUpdate(c->work, a, alen) &&
         (blen == 0 || EVP_DigestUpdate(c->work, b, blen)) &&
         EVP_DigestFinal_ex(c->work, out, NULL);
}

static int sha256(sfn_sigv4_cache *c, const void *data, size_t len,
                  unsigned char out[32]) {
  return sha256_2(c, data, len, NULL, 0, out);
}

/* HMAC-SHA256 key setup (RFC 2104) for the key a || b: inner and outer get
 * SHA-256 after (key ^ ipad) and (key ^ opad), the key zero-padded to one
 * 64-byte block (a longer key is hashed first). */
static int hmac_setkey(sfn_sigv4_cache *c, const void *a, size_t alen,
                       const void *b, size_t blen) {
  unsigned char block[64], pad[64];
  int i, ok = 1;
  memset(block, 0, sizeof block);
  if (alen + blen > sizeof block) {
    ok = sha256_2(c, a, alen, b, blen, block);
  } else {
    memcpy(block, a, alen);
    if (blen > 0) memcpy(block + alen, b, blen);
  }
  for (i = 0; i < 64; i++) pad[i] = (unsigned char)(block[i] ^ 0x36);
  ok = ok && EVP_DigestInit_ex(c->inner, c->md, NULL) &&
       EVP_DigestUpdate(c->inner, pad, sizeof pad);
  for (i = 0; i < 64; i++) pad[i] = (unsigned char)(block[i] ^ 0x5c);
  ok = ok && EVP_DigestInit_ex(c->outer, c->md, NULL) &&
       EVP_DigestUpdate(c->outer, pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
  return ok;
}

/* HMAC-SHA256 of data under the key set by hmac_setkey (kept: the states
 * are copied, so the key signs again). */
static int hmac_sign(sfn_sigv4_cache *c, const void *data, size_t len,
                     unsigned char out[32]) {
  unsigned char ih[32];
  int ok = EVP_MD_CTX_copy_ex(c->work, c->inner) &&
           EVP_DigestUpdate(c->work, data, len) &&
           EVP_DigestFinal_ex(c->work, ih, NULL) &&
           EVP_MD_CTX_copy_ex(c->work, c->outer) &&
           EVP_DigestUpdate(c->work, ih, sizeof ih) &&
           EVP_DigestFinal_ex(c->work, out, NULL);
  OPENSSL_cleanse(ih, sizeof ih);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Text sink: a fixed buffer that spills into a luaL_Buffer when full.      */
/* While spilled, the buffer owns the top of the Lua stack: nothing else is */
/* pushed until sink_finish.                                                */

typedef struct sink {
  lua_State *L;
  char *p;
  size_t n, cap;
  int spilled;
  luaL_Buffer b;
} sink;

static void sink_init(sink *s, lua_State *L, char *mem, size_t cap) {
  s->L = L;
  s->p = mem;
  s->n = 0;
  s->cap = cap;
  s->spilled = 0;
}

static void sink_spill(sink *s) {
  luaL_buffinit(s->L, &s->b);
  luaL_addlstring(&s->b, s->p, s->n);
  s->spilled = 1;
}

static void sink_add(sink *s, const char *d, size_t len) {
  if (!s->spilled) {
    if (len <= s->cap - s->n) {
      memcpy(s->p + s->n, d, len);
      s->n += len;
      return;
    }
    sink_spill(s);
  }
  luaL_addlstring(&s->b, d, len);
}

static void sink_addc(sink *s, char c) {
  if (!s->spilled) {
    if (s->n < s->cap) {
      s->p[s->n++] = c;
      return;
    }
    sink_spill(s);
  }
  luaL_addchar(&s->b, c);
}

#define sink_lit(s, lit) sink_add((s), "" lit, sizeof(lit) - 1)

static void sink_adds(sink *s, const char *str) {
  sink_add(s, str, strlen(str));
}

/* Ends the text. With push (or when it spilled) the text is left as a
 * string on top of the stack. Returns the text, which stays valid while
 * that string or the fixed buffer lives. */
static const char *sink_finish(sink *s, int push, size_t *len) {
  if (s->spilled) {
    luaL_pushresult(&s->b);
    return lua_tolstring(s->L, -1, len);
  }
  if (push) lua_pushlstring(s->L, s->p, s->n);
  *len = s->n;
  return s->p;
}

/* Percent-encodes every byte outside the unreserved set (and outside '/'
 * when keep_slash), uppercase hex. */
static void sink_encode(sink *s, const char *d, size_t len, int keep_slash) {
  size_t i = 0, run;
  while (i < len) {
    for (run = i; run < len; run++) {
      unsigned char c = (unsigned char)d[run];
      if (!is_unreserved(c) && !(keep_slash && c == '/')) break;
    }
    if (run > i) sink_add(s, d + i, run - i);
    if (run < len) {
      unsigned char c = (unsigned char)d[run];
      char esc[3];
      esc[0] = '%';
      esc[1] = HEXDIGITS[c >> 4];
      esc[2] = HEXDIGITS[c & 15];
      sink_add(s, esc, 3);
      run++;
    }
    i = run;
  }
}

static void sink_add_lower(sink *s, const char *d, size_t len) {
  size_t i;
  if (!s->spilled && len <= s->cap - s->n) {
    char *o = s->p + s->n;
    for (i = 0; i < len; i++) o[i] = (char)lower((unsigned char)d[i]);
    s->n += len;
    return;
  }
  for (i = 0; i < len; i++) sink_addc(s, (char)lower((unsigned char)d[i]));
}

/* A header value trimmed, every inner run of whitespace made one space. */
static void sink_add_trimmed(sink *s, const char *d, size_t len) {
  size_t i = 0, run;
  int gap = 0;
  while (i < len && is_space((unsigned char)d[i])) i++;
  while (i < len) {
    if (is_space((unsigned char)d[i])) {
      gap = 1;
      i++;
      continue;
    }
    if (gap) sink_addc(s, ' ');
    gap = 0;
    for (run = i; run < len && !is_space((unsigned char)d[run]); run++) {
    }
    sink_add(s, d + i, run - i);
    i = run;
  }
}

/* ------------------------------------------------------------------------ */
/* Canonical URI                                                             */

/* botocore's remove_dot_segments: drops empty and "." segments, ".." pops
 * one; keeps a leading '/' if the path had one and a trailing '/' if the
 * path had one and some segment is left. out holds len + 2 bytes. */
static size_t normalize_path(const char *in, size_t len, char *out) {
  size_t i = 0, o = 0;
  while (i < len) {
    size_t j = i, seg;
    while (j < len && in[j] != '/') j++;
    seg = j - i;
    if (seg == 0 || (seg == 1 && in[i] == '.')) {
      /* nothing */
    } else if (seg == 2 && in[i] == '.' && in[i + 1] == '.') {
      while (o > 0 && out[--o] != '/') {
      }
    } else {
      out[o++] = '/';
      memcpy(out + o, in + i, seg);
      o += seg;
    }
    i = j + 1;
  }
  if (o == 0) return 0;
  if (in[0] != '/') {
    memmove(out, out + 1, o - 1);
    o--;
  }
  if (in[len - 1] == '/') out[o++] = '/';
  return o;
}

/* ------------------------------------------------------------------------ */
/* Canonical query                                                           */

typedef struct qpair {
  const char *key;
  size_t key_len;
  const char *value;
  size_t value_len;
} qpair;

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
  int c = memcmp(a, b, al < bl ? al : bl);
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

static int qpair_cmp(const void *va, const void *vb) {
  const qpair *a = (const qpair *)va, *b = (const qpair *)vb;
  int c = bytes_cmp(a->key, a->key_len, b->key, b->key_len);
  return c != 0 ? c : bytes_cmp(a->value, a->value_len, b->value, b->value_len);
}

/* Percent-decodes d and writes it re-encoded ('/' encoded too) at out.
 * Returns the bytes written (at most 3 * len). A '%' not followed by two
 * hex digits stands for itself. */
static size_t requery(const char *d, size_t len, char *out) {
  size_t i, o = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)d[i];
    int hi, lo;
    if (c == '%' && i + 2 < len &&
        (hi = hexval((unsigned char)d[i + 1])) >= 0 &&
        (lo = hexval((unsigned char)d[i + 2])) >= 0) {
      c = (unsigned char)(hi * 16 + lo);
      i += 2;
    }
    if (is_unreserved(c)) {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = HEXDIGITS[c >> 4];
      out[o++] = HEXDIGITS[c & 15];
    }
  }
  return o;
}

/* Pushes a scratch userdata holding the sorted, re-encoded pairs of a raw
 * query; *count gets their number. */
static qpair *canonical_query_pairs(lua_State *L, const char *q, size_t len,
                                    size_t *count) {
  size_t npairs = 1, i, n = 0, start;
  qpair *pairs;
  char *text;
  for (i = 0; i < len; i++)
    if (q[i] == '&') npairs++;
  if (npairs > ((size_t)-1 - 3 * len) / sizeof(qpair))
    luaL_error(L, "query too long");
  pairs = (qpair *)lua_newuserdata(L, npairs * sizeof(qpair) + 3 * len + 1);
  text = (char *)(pairs + npairs);
  for (start = 0; start <= len; start = i + 1) {
    size_t eq;
    for (i = start; i < len && q[i] != '&'; i++) {
    }
    if (i == start) continue; /* empty piece: "a=1&&b=2", trailing '&' */
    for (eq = start; eq < i && q[eq] != '='; eq++) {
    }
    pairs[n].key = text;
    pairs[n].key_len = requery(q + start, eq - start, text);
    text += pairs[n].key_len;
    pairs[n].value = text;
    pairs[n].value_len = eq < i ? requery(q + eq + 1, i - eq - 1, text) : 0;
    text += pairs[n].value_len;
    n++;
  }
  if (n > 1) qsort(pairs, n, sizeof(qpair), qpair_cmp);
  *count = n;
  return pairs;
}

/* ------------------------------------------------------------------------ */
/* Canonical headers                                                         */

static int name_cmp(const sfn_header *a, const sfn_header *b) {
  size_t i, n = a->name_len < b->name_len ? a->name_len : b->name_len;
  for (i = 0; i < n; i++) {
    unsigned char ca = lower((unsigned char)a->name[i]);
    unsigned char cb = lower((unsigned char)b->name[i]);
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

/* qsort is not stable: entries point into one array, so their addresses
 * break ties in order of appearance. */
static int header_ptr_cmp(const void *va, const void *vb) {
  const sfn_header *a = *(const sfn_header *const *)va;
  const sfn_header *b = *(const sfn_header *const *)vb;
  int c = name_cmp(a, b);
  if (c != 0) return c;
  return a < b ? -1 : a > b;
}

static void sort_headers(const sfn_header **idx, size_t n) {
  size_t i, j;
  if (n > SIGV4_STACK_HEADERS) {
    qsort(idx, n, sizeof *idx, header_ptr_cmp);
    return;
  }
  for (i = 1; i < n; i++) { /* stable insertion sort */
    const sfn_header *h = idx[i];
    for (j = i; j > 0 && name_cmp(idx[j - 1], h) > 0; j--) idx[j] = idx[j - 1];
    idx[j] = h;
  }
}

/* ------------------------------------------------------------------------ */
/* Signing key                                                               */

void sfn_sigv4_cache_clear(sfn_sigv4_cache *cache) {
  if (cache == NULL) return;
  EVP_MD_CTX_free(cache->work);
  EVP_MD_CTX_free(cache->inner);
  EVP_MD_CTX_free(cache->outer);
  EVP_MD_free(cache->md);
  OPENSSL_cleanse(cache, sizeof *cache);
}

static int l_cache_gc(lua_State *L) {
  sfn_sigv4_cache_clear((sfn_sigv4_cache *)lua_touserdata(L, 1));
  return 0;
}

/* Pushes a zeroed cache in a userdata whose __gc clears it. */
static sfn_sigv4_cache *push_cache(lua_State *L) {
  sfn_sigv4_cache *cache =
      (sfn_sigv4_cache *)lua_newuserdata(L, sizeof(sfn_sigv4_cache));
  memset(cache, 0, sizeof *cache);
  if (luaL_newmetatable(L, SIGV4_CACHE_MT)) {
    lua_pushcfunction(L, l_cache_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, SIGV4_CACHE_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_setmetatable(L, -2);
  return cache;
}

/* Sets the HMAC key states to the signing key: the HMAC chain over
 * "AWS4"+secret, date, region, service, "aws4_request". Wipes every
 * intermediate; returns 0 on an OpenSSL failure. Never calls Lua. */
static int derive_key(sfn_sigv4_cache *c, const sfn_sigv4_request *req,
                      const char *date8) {
  unsigned char k[32];
  int ok =
      hmac_setkey(c, "AWS4", 4, req->secret_access_key, req->secret_len) &&
      hmac_sign(c, date8, 8, k) && hmac_setkey(c, k, sizeof k, NULL, 0) &&
      hmac_sign(c, req->region, strlen(req->region), k) &&
      hmac_setkey(c, k, sizeof k, NULL, 0) &&
      hmac_sign(c, req->service, strlen(req->service), k) &&
      hmac_setkey(c, k, sizeof k, NULL, 0) &&
      hmac_sign(c, SIGV4_TERMINATOR, sizeof SIGV4_TERMINATOR - 1, k) &&
      hmac_setkey(c, k, sizeof k, NULL, 0);
  OPENSSL_cleanse(k, sizeof k);
  return ok;
}

/* HMAC of the string to sign under the signing key: the cached key when
 * the entry matches, else one derived into c (and remembered when keep is
 * set and the entry fits the cache's fields). No Lua call runs between
 * checking the entry and signing with it. */
static void compute_signature(lua_State *L, sfn_sigv4_cache *c, int keep,
                              const sfn_sigv4_request *req, const char *date8,
                              const char *sts, size_t sts_len,
                              unsigned char sig[32]) {
  unsigned char digest[32];
  size_t region_len = strlen(req->region), service_len = strlen(req->service);
  int cacheable = keep && region_len < sizeof c->region &&
                  service_len < sizeof c->service;
  int ok;
  if (!crypto_ready(c)) crypto_fail(L, "SHA-256 setup");
  if (cacheable) {
    if (!sha256(c, req->secret_access_key, req->secret_len, digest)) {
      OPENSSL_cleanse(digest, sizeof digest);
      crypto_fail(L, "SHA-256");
    }
    if (c->valid && memcmp(c->scope_date, date8, 8) == 0 &&
        strcmp(c->region, req->region) == 0 &&
        strcmp(c->service, req->service) == 0 &&
        CRYPTO_memcmp(c->secret_digest, digest, 32) == 0) {
      OPENSSL_cleanse(digest, sizeof digest);
      if (!hmac_sign(c, sts, sts_len, sig)) crypto_fail(L, "HMAC-SHA256");
      return;
    }
  }
  /* The key states are about to be replaced: the entry no longer holds. */
  c->valid = 0;
  OPENSSL_cleanse(c->secret_digest, sizeof c->secret_digest);
  if (!derive_key(c, req, date8)) {
    OPENSSL_cleanse(digest, sizeof digest);
    crypto_fail(L, "HMAC-SHA256 (signing key)");
  }
  ok = hmac_sign(c, sts, sts_len, sig);
  if (ok && cacheable) {
    memcpy(c->scope_date, date8, 8);
    c->scope_date[8] = '\0';
    memcpy(c->region, req->region, region_len + 1);
    memcpy(c->service, req->service, service_len + 1);
    memcpy(c->secret_digest, digest, 32);
    c->valid = 1;
  }
  OPENSSL_cleanse(digest, sizeof digest);
  if (!ok) crypto_fail(L, "HMAC-SHA256");
}

/* ------------------------------------------------------------------------ */
/* sfn_sigv4_authorize                                                       */

static void add_scope(sink *s, const char *date8, const char *region,
                      const char *service) {
  sink_add(s, date8, 8);
  sink_addc(s, '/');
  sink_adds(s, region);
  sink_addc(s, '/');
  sink_adds(s, service);
  sink_lit(s, "/" SIGV4_TERMINATOR);
}

void sfn_sigv4_authorize(lua_State *L, sfn_sigv4_cache *cache,
                         const sfn_sigv4_request *req, int debug) {
  const int base = lua_gettop(L);
  const sfn_header *stack_idx[SIGV4_STACK_HEADERS];
  const sfn_header **idx = stack_idx;
  char stack_path[SIGV4_PATH_STACK];
  char creq_mem[SIGV4_CREQ_STACK];
  char sts_mem[SIGV4_STS_STACK];
  char payload_hex[64], creq_hex[64], sig_hex[64], date8[8];
  unsigned char digest[32];
  const char *path = req->path != NULL ? req->path : "";
  size_t path_len = req->path != NULL ? req->path_len : 0;
  const qpair *pairs = NULL;
  size_t npairs = 0, n = req->header_count, i, shl = 0;
  const char *creq, *sts, *date = req->amz_date;
  size_t creq_len, sts_len, date_len = strlen(date);
  sfn_sigv4_cache *c = cache;
  sink s;
  luaL_Buffer auth;

  luaL_checkstack(L, 24, "sigv4");
  memset(date8, '0', sizeof date8);
  memcpy(date8, date, date_len < 8 ? date_len : 8);
  ERR_clear_error(); /* the OpenSSL errors read below are our own */

  /* Scratch first: nothing may be pushed once a sink has spilled. Without
   * a cache the OpenSSL objects live in a scratch one, freed below on
   * success and by its __gc if anything raises. */
  if (c == NULL) c = push_cache(L);
  if (n > SIGV4_STACK_HEADERS)
    idx = (const sfn_header **)lua_newuserdata(L, n * sizeof *idx);
  for (i = 0; i < n; i++) idx[i] = &req->headers[i];
  sort_headers(idx, n);
  if (req->normalize_path) {
    char *out = stack_path;
    if (path_len > sizeof stack_path - 2)
      out = (char *)lua_newuserdata(L, path_len + 2);
    path_len = normalize_path(path, path_len, out);
    path = out;
  }
  if (req->query != NULL && req->query_len > 0)
    pairs = canonical_query_pairs(L, req->query, req->query_len, &npairs);

  /* Payload hash. */
  if (req->payload_len == 0) {
    memcpy(payload_hex, SIGV4_EMPTY_SHA256, 64);
  } else {
    if (!crypto_ready(c) || !sha256(c, req->payload, req->payload_len, digest))
      crypto_fail(L, "SHA-256");
    hex_encode(digest, 32, payload_hex);
  }

  /* Canonical request. */
  sink_init(&s, L, creq_mem, sizeof creq_mem);
  sink_adds(&s, req->method);
  sink_addc(&s, '\n');
  if (path_len == 0)
    sink_addc(&s, '/');
  else
    sink_encode(&s, path, path_len, 1);
  sink_addc(&s, '\n');
  for (i = 0; i < npairs; i++) {
    if (i > 0) sink_addc(&s, '&');
    sink_add(&s, pairs[i].key, pairs[i].key_len);
    sink_addc(&s, '=');
    sink_add(&s, pairs[i].value, pairs[i].value_len);
  }
  sink_addc(&s, '\n');
  for (i = 0; i < n; i++) {
    const sfn_header *h = idx[i];
    if (i > 0 && name_cmp(idx[i - 1], h) == 0) {
      sink_addc(&s, ',');
    } else {
      if (i > 0) sink_addc(&s, '\n');
      sink_add_lower(&s, h->name, h->name_len);
      sink_addc(&s, ':');
    }
    sink_add_trimmed(&s, h->value, h->value_len);
  }
  if (n > 0) sink_addc(&s, '\n');
  sink_addc(&s, '\n');
  for (i = 0; i < n; i++) {
    const sfn_header *h = idx[i];
    if (i > 0 && name_cmp(idx[i - 1], h) == 0) continue;
    if (i > 0) {
      sink_addc(&s, ';');
      shl++;
    }
    sink_add_lower(&s, h->name, h->name_len);
    shl += h->name_len;
  }
  sink_addc(&s, '\n');
  sink_add(&s, payload_hex, 64);
  creq = sink_finish(&s, debug, &creq_len);
  /* The sink may have allocated: a __gc run there may have cleared c. */
  if (!crypto_ready(c) || !sha256(c, creq, creq_len, digest))
    crypto_fail(L, "SHA-256");
  hex_encode(digest, 32, creq_hex);

  /* String to sign. */
  sink_init(&s, L, sts_mem, sizeof sts_mem);
  sink_lit(&s, SIGV4_ALGORITHM "\n");
  sink_adds(&s, date);
  sink_addc(&s, '\n');
  add_scope(&s, date8, req->region, req->service);
  sink_addc(&s, '\n');
  sink_add(&s, creq_hex, 64);
  sts = sink_finish(&s, debug, &sts_len);

  compute_signature(L, c, cache != NULL, req, date8, sts, sts_len, digest);
  hex_encode(digest, 32, sig_hex);
  if (c != cache) sfn_sigv4_cache_clear(c);

  /* Authorization. The signed-headers list sits just before the payload
   * hash line at the end of the canonical request. */
  luaL_buffinit(L, &auth);
  luaL_addstring(&auth, SIGV4_ALGORITHM " Credential=");
  luaL_addstring(&auth, req->access_key_id);
  luaL_addchar(&auth, '/');
  luaL_addlstring(&auth, date8, 8);
  luaL_addchar(&auth, '/');
  luaL_addstring(&auth, req->region);
  luaL_addchar(&auth, '/');
  luaL_addstring(&auth, req->service);
  luaL_addstring(&auth, "/" SIGV4_TERMINATOR ", SignedHeaders=");
  luaL_addlstring(&auth, creq + creq_len - 65 - shl, shl);
  luaL_addstring(&auth, ", Signature=");
  luaL_addlstring(&auth, sig_hex, 64);
  luaL_pushresult(&auth);

  /* Leave exactly the results above base: drop the scratch (and, without
   * debug, a spilled canonical request or string to sign). */
  if (debug) {
    while (lua_gettop(L) > base + 3) lua_remove(L, base + 1);
  } else if (lua_gettop(L) > base + 1) {
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
  }
}

/* ------------------------------------------------------------------------ */
/* core.sign                                                                 */

static const char *const sign_fields[] = {
    "method", "path", "query", "headers", "body", "access_key_id",
    "secret_access_key", "session_token", "region", "service", "timestamp",
    "normalize", "sign_body", "omit_session_token", "cache", NULL};

static int bad_field(lua_State *L, const char *field, const char *want) {
  return sfn_error_raisef(L, "ValidationError",
                          "core.sign: field '%s' must be %s (got %s)", field,
                          want, luaL_typename(L, -1));
}

/* Pushes t[field]; checks it is a string (or nil when optional) and leaves
 * it on the stack so the returned pointer stays anchored. */
static const char *field_string(lua_State *L, const char *field, int optional,
                                size_t *len, size_t *seen) {
  lua_getfield(L, 1, field);
  if (lua_type(L, -1) == LUA_TSTRING) {
    (*seen)++;
    return lua_tolstring(L, -1, len);
  }
  if (optional && lua_isnil(L, -1)) {
    *len = 0;
    return NULL;
  }
  bad_field(L, field, optional ? "a string or nil" : "a string");
  return NULL;
}

static int field_bool(lua_State *L, const char *field, int def,
                      size_t *seen) {
  int v = def;
  lua_getfield(L, 1, field);
  if (lua_type(L, -1) == LUA_TBOOLEAN) {
    v = lua_toboolean(L, -1);
    (*seen)++;
  } else if (!lua_isnil(L, -1))
    bad_field(L, field, "a boolean or nil");
  lua_pop(L, 1);
  return v;
}

/* Scope elements and the access key id go verbatim into the Authorization
 * header: letters, digits and - _ . only. */
static void check_word(lua_State *L, const char *field, const char *s,
                       size_t len) {
  size_t i;
  if (len == 0)
    sfn_error_raisef(L, "ValidationError", "core.sign: field '%s' is empty",
                     field);
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(is_unreserved(c) && c != '~'))
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: field '%s' may hold only letters, digits, "
                       "'-', '_' and '.'",
                       field);
  }
}

static int two_digits(const char *s, int lo, int hi) {
  int v;
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return 0;
  v = (s[0] - '0') * 10 + (s[1] - '0');
  return v >= lo && v <= hi;
}

/* t.timestamp: "YYYYMMDDTHHMMSSZ" or seconds since the epoch (a fraction is
 * dropped), written to out as "YYYYMMDDTHHMMSSZ". */
static void field_timestamp(lua_State *L, char out[17], size_t *seen) {
  lua_getfield(L, 1, "timestamp");
  (*seen)++; /* required: anything else raises below */
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len != 16 || !two_digits(s, 0, 99) || !two_digits(s + 2, 0, 99) ||
        !two_digits(s + 4, 1, 12) || !two_digits(s + 6, 1, 31) ||
        s[8] != 'T' || !two_digits(s + 9, 0, 23) ||
        !two_digits(s + 11, 0, 59) || !two_digits(s + 13, 0, 60) ||
        s[15] != 'Z')
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: field 'timestamp' must look like "
                       "YYYYMMDDTHHMMSSZ");
    memcpy(out, s, 17);
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number t = lua_tonumber(L, -1);
    time_t secs;
    struct tm tm;
    /* 0 .. 9999-12-31T23:59:59Z; NaN fails the comparison too. The cast
     * below truncates, which for t >= 0 drops the fraction. */
    if (!(t >= 0 && t < 253402300800.0))
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: field 'timestamp' is out of range");
    secs = (time_t)t;
    if (gmtime_r(&secs, &tm) == NULL ||
        strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: field 'timestamp' is out of range");
  } else {
    bad_field(L, "timestamp", "a string or a number");
  }
  lua_pop(L, 1);
}

static int name_is(const char *name, size_t len, const char *lit) {
  size_t i;
  if (strlen(lit) != len) return 0;
  for (i = 0; i < len; i++)
    if (lower((unsigned char)name[i]) != (unsigned char)lit[i]) return 0;
  return 1;
}

/* Header names: HTTP token characters (visible ASCII but ':'); values: no
 * CR, LF or NUL, so nothing can smuggle in another header line. */
static void check_header(lua_State *L, lua_Integer i, const char *name,
                         size_t name_len, const char *value,
                         size_t value_len) {
  size_t k;
  if (name_len == 0)
    sfn_error_raisef(L, "ValidationError",
                     "core.sign: headers[%d] has an empty name", (int)i);
  for (k = 0; k < name_len; k++) {
    unsigned char c = (unsigned char)name[k];
    if (c <= 0x20 || c >= 0x7f || c == ':')
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: headers[%d] name holds a character not "
                       "allowed in a header name",
                       (int)i);
  }
  for (k = 0; k < value_len; k++)
    if (value[k] == '\r' || value[k] == '\n' || value[k] == '\0')
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: headers[%d] (%s) value holds a CR, LF or "
                       "NUL",
                       (int)i, lua_tostring(L, -2));
}

static void set_header(sfn_header *h, const char *name, const char *value,
                       size_t value_len) {
  h->name = name;
  h->name_len = strlen(name);
  h->value = value;
  h->value_len = value_len;
}

static void push_pair(lua_State *L, int n, const char *name, const char *value,
                      size_t value_len) {
  lua_createtable(L, 2, 0);
  lua_pushstring(L, name);
  lua_rawseti(L, -2, 1);
  lua_pushlstring(L, value, value_len);
  lua_rawseti(L, -2, 2);
  lua_rawseti(L, -2, n);
}

/* Unknown keys are typos: raises for the first key of t that is not one of
 * sign_fields. Only called when t holds more keys than fields were read. */
static void check_unknown_fields(lua_State *L) {
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    int k, known = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      sfn_error_raisef(L, "ValidationError",
                       "core.sign: unknown field of type %s",
                       luaL_typename(L, -1));
    for (k = 0; sign_fields[k] != NULL && !known; k++)
      known = strcmp(lua_tostring(L, -1), sign_fields[k]) == 0;
    if (!known)
      sfn_error_raisef(L, "ValidationError", "core.sign: unknown field '%s'",
                       lua_tostring(L, -1));
  }
}

static size_t count_keys(lua_State *L) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_pop(L, 1);
    n++;
  }
  return n;
}

/***
 * Signs a request with SigV4 (header signing).
 * @function sign
 * @tparam table t method, path (raw), query (raw, optional), headers (array
 *   of {name, value}, order kept, repeats allowed), body (optional),
 *   access_key_id, secret_access_key, session_token (optional; "" is none),
 *   region, service, timestamp ("YYYYMMDDTHHMMSSZ" or epoch seconds),
 *   normalize (default true), sign_body (add and sign x-amz-content-sha256),
 *   omit_session_token (send the token header but do not sign it),
 *   cache (default true: use the module's signing-key cache).
 * @treturn table canonical_request, string_to_sign, signature,
 *   authorization, headers (array of {name, value} the signer added:
 *   X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256, Authorization
 *   last)
 * @raise sfn.Error ValidationError for a missing or mistyped field, an
 *   unknown field, a header value with CR/LF/NUL, or a header the signer
 *   adds itself; ConfigError if OpenSSL fails.
 */
static int l_sign(lua_State *L) {
  sfn_sigv4_cache *cache =
      (sfn_sigv4_cache *)lua_touserdata(L, lua_upvalueindex(1));
  sfn_header stack_headers[SIGV4_STACK_HEADERS];
  sfn_header *headers = stack_headers;
  sfn_sigv4_request req;
  char amz_date[17], body_hex[64];
  const char *token, *body;
  size_t len, token_len, body_len, nh, total, i, seen = 0;
  int normalize, sign_body, omit_token, use_cache, headers_idx;

  if (lua_type(L, 1) != LUA_TTABLE)
    return sfn_error_raisef(L, "ValidationError",
                            "core.sign: expected a table (got %s)",
                            luaL_typename(L, 1));
  lua_settop(L, 1);
  luaL_checkstack(L, 40, "core.sign");

  memset(&req, 0, sizeof req);
  req.method = field_string(L, "method", 0, &len, &seen);
  check_word(L, "method", req.method, len);
  req.path = field_string(L, "path", 0, &req.path_len, &seen);
  req.query = field_string(L, "query", 1, &req.query_len, &seen);
  body = field_string(L, "body", 1, &body_len, &seen);
  req.payload = body != NULL ? body : "";
  req.payload_len = body_len;
  req.access_key_id = field_string(L, "access_key_id", 0, &len, &seen);
  check_word(L, "access_key_id", req.access_key_id, len);
  req.secret_access_key =
      field_string(L, "secret_access_key", 0, &req.secret_len, &seen);
  if (req.secret_len == 0)
    sfn_error_raisef(L, "ValidationError",
                     "core.sign: field 'secret_access_key' is empty");
  token = field_string(L, "session_token", 1, &token_len, &seen);
  if (token != NULL && token_len == 0) token = NULL; /* as botocore */
  if (token != NULL && (memchr(token, '\r', token_len) != NULL ||
                        memchr(token, '\n', token_len) != NULL ||
                        memchr(token, '\0', token_len) != NULL))
    sfn_error_raisef(L, "ValidationError",
                     "core.sign: field 'session_token' holds a CR, LF or "
                     "NUL");
  req.region = field_string(L, "region", 0, &len, &seen);
  check_word(L, "region", req.region, len);
  req.service = field_string(L, "service", 0, &len, &seen);
  check_word(L, "service", req.service, len);
  field_timestamp(L, amz_date, &seen);
  normalize = field_bool(L, "normalize", 1, &seen);
  sign_body = field_bool(L, "sign_body", 0, &seen);
  omit_token = field_bool(L, "omit_session_token", 0, &seen);
  use_cache = field_bool(L, "cache", 1, &seen);

  lua_getfield(L, 1, "headers");
  headers_idx = lua_gettop(L);
  if (lua_isnil(L, headers_idx))
    nh = 0;
  else if (lua_type(L, headers_idx) == LUA_TTABLE) {
    nh = lua_rawlen(L, headers_idx);
    seen++;
  } else {
    return bad_field(L, "headers", "an array of {name, value} tables");
  }
  if (count_keys(L) > seen) check_unknown_fields(L);
  if (nh > SIGV4_MAX_HEADERS)
    return sfn_error_raisef(L, "ValidationError",
                            "core.sign: more than %d headers",
                            SIGV4_MAX_HEADERS);
  total = nh + 2 + (sign_body ? 1 : 0);
  luaL_checkstack(L, (int)(2 * nh + 8), "core.sign");
  if (total > SIGV4_STACK_HEADERS)
    headers = (sfn_header *)lua_newuserdata(L, total * sizeof *headers);

  /* Each name and value stays on the stack while its pointer is used. */
  for (i = 0; i < nh; i++) {
    lua_Integer li = (lua_Integer)i + 1;
    const char *name, *value;
    size_t name_len, value_len;
    lua_rawgeti(L, headers_idx, li);
    if (lua_type(L, -1) != LUA_TTABLE)
      return sfn_error_raisef(L, "ValidationError",
                              "core.sign: headers[%d] must be a {name, value} "
                              "table (got %s)",
                              (int)li, luaL_typename(L, -1));
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      return sfn_error_raisef(L, "ValidationError",
                              "core.sign: headers[%d] must be a {name, value} "
                              "pair of strings (got %s, %s)",
                              (int)li, luaL_typename(L, -2),
                              luaL_typename(L, -1));
    lua_remove(L, -3);
    name = lua_tolstring(L, -2, &name_len);
    value = lua_tolstring(L, -1, &value_len);
    check_header(L, li, name, name_len, value, value_len);
    if (name_is(name, name_len, "authorization") ||
        name_is(name, name_len, "x-amz-date") ||
        (token != NULL && name_is(name, name_len, "x-amz-security-token")) ||
        (sign_body && name_is(name, name_len, "x-amz-content-sha256")))
      return sfn_error_raisef(L, "ValidationError",
                              "core.sign: headers[%d] (%s) is added by the "
                              "signer",
                              (int)li, name);
    headers[i].name = name;
    headers[i].name_len = name_len;
    headers[i].value = value;
    headers[i].value_len = value_len;
  }

  /* The headers the signer adds, in README rule 2 order. */
  set_header(&headers[nh++], "X-Amz-Date", amz_date, 16);
  if (token != NULL && !omit_token)
    set_header(&headers[nh++], "X-Amz-Security-Token", token, token_len);
  if (sign_body) {
    unsigned char digest[32];
    ERR_clear_error();
    if (!crypto_ready(cache) ||
        !sha256(cache, req.payload, req.payload_len, digest))
      crypto_fail(L, "SHA-256");
    hex_encode(digest, 32, body_hex);
    set_header(&headers[nh++], "x-amz-content-sha256", body_hex, 64);
  }

  req.headers = headers;
  req.header_count = nh;
  req.amz_date = amz_date;
  req.normalize_path = normalize;
  sfn_sigv4_authorize(L, use_cache ? cache : NULL, &req, 1);

  /* stack: ..., canonical request, string to sign, authorization */
  lua_createtable(L, 0, 5);
  lua_pushvalue(L, -4);
  lua_setfield(L, -2, "canonical_request");
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "string_to_sign");
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "authorization");
  {
    const char *auth = lua_tolstring(L, -2, &len);
    int k = 0;
    lua_pushlstring(L, auth + len - 64, 64);
    lua_setfield(L, -2, "signature");
    lua_createtable(L, 4, 0);
    push_pair(L, ++k, "X-Amz-Date", amz_date, 16);
    if (token != NULL)
      push_pair(L, ++k, "X-Amz-Security-Token", token, token_len);
    if (sign_body) push_pair(L, ++k, "x-amz-content-sha256", body_hex, 64);
    push_pair(L, ++k, "Authorization", auth, len);
    lua_setfield(L, -2, "headers");
  }
  return 1;
}

void sfn_sigv4_open(lua_State *L) {
  static const luaL_Reg funcs[] = {{"sign", l_sign}, {NULL, NULL}};
  push_cache(L);
  luaL_setfuncs(L, funcs, 1);
}

/* DPoP proofs (RFC 9449) for `aws login` sessions, as botocore's
 * _build_dpop_header makes them: an ES256 JWT whose header carries the
 * public key as a JWK and whose payload names the request (htm, htu), the
 * time (iat) and a unique id (jti, a random UUID v4 unless given). Also the
 * hex digests the credential caches are named by (SHA-1, SHA-256).
 *
 * Every OpenSSL object lives in a __gc userdata created before it is
 * acquired (BIO, EVP_PKEY, EVP_MD_CTX, the DER signature, the coordinates):
 * a Lua call that raises frees them at the next collection, and every path
 * frees them at once. The private key never reaches a message. */
#include "dpop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "errors.h"
#include "json.h"

#define DPOP_MT "sfn.DPoP"
/* The largest PEM key accepted and the largest htu / jti. */
#define MAX_PEM 16384
#define MAX_HTU 4096
#define MAX_JTI 256

typedef struct dpop_state {
  BIO *bio;
  EVP_PKEY *pkey;
  EVP_MD_CTX *md;
  unsigned char *der; /* OPENSSL_malloc'd signature */
  ECDSA_SIG *sig;
  BIGNUM *x, *y;
} dpop_state;

static void dpop_free(dpop_state *s) {
  if (s->bio) BIO_free(s->bio);
  if (s->pkey) EVP_PKEY_free(s->pkey);
  if (s->md) EVP_MD_CTX_free(s->md);
  if (s->der) OPENSSL_free(s->der);
  if (s->sig) ECDSA_SIG_free(s->sig);
  if (s->x) BN_free(s->x);
  if (s->y) BN_free(s->y);
  memset(s, 0, sizeof *s);
}

static int dpop_gc(lua_State *L) {
  dpop_free(luaL_checkudata(L, 1, DPOP_MT));
  return 0;
}

/* Never prompts for a pass phrase: an encrypted key is refused. */
static int no_password(char *buf, int size, int rwflag, void *u) {
  (void)buf; (void)size; (void)rwflag; (void)u;
  return 0;
}

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Adds base64url (no padding) of data to b. */
static void add_b64url(luaL_Buffer *b, const unsigned char *p, size_t n) {
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
    luaL_addchar(b, B64URL[v >> 18 & 63]);
    luaL_addchar(b, B64URL[v >> 12 & 63]);
    luaL_addchar(b, B64URL[v >> 6 & 63]);
    luaL_addchar(b, B64URL[v & 63]);
  }
  if (n - i == 1) {
    unsigned v = (unsigned)p[i] << 16;
    luaL_addchar(b, B64URL[v >> 18 & 63]);
    luaL_addchar(b, B64URL[v >> 12 & 63]);
  } else if (n - i == 2) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
    luaL_addchar(b, B64URL[v >> 18 & 63]);
    luaL_addchar(b, B64URL[v >> 12 & 63]);
    luaL_addchar(b, B64URL[v >> 6 & 63]);
  }
}

/* Pushes base64url(s) for the Lua string at idx. */
static void push_b64url_of(lua_State *L, int idx) {
  size_t n;
  const char *s = lua_tolstring(L, idx, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  add_b64url(&b, (const unsigned char *)s, n);
  luaL_pushresult(&b);
}

static int openssl_fail(lua_State *L, dpop_state *s, const char *what) {
  /* the state is freed by hand: the raise below would leave it to the GC */
  dpop_free(s);
  ERR_clear_error();
  return sfn_error_raisef(L, "CredentialsError", "DPoP proof: %s", what);
}

/** Makes a DPoP proof signed with an EC P-256 private key (ES256).
 * @function dpop_proof
 * @tparam string pem the private key, PEM ("EC PRIVATE KEY" or "PRIVATE KEY")
 * @tparam string htm the HTTP method
 * @tparam string htu the URL
 * @tparam integer iat seconds since the epoch
 * @tparam[opt] string jti the proof's unique id (default: a random UUID v4)
 * @treturn string the JWT `header.payload.signature`
 * @raise ValidationError on bad arguments; CredentialsError when the key
 *   cannot be used (the message never shows it) */
static int l_dpop_proof(lua_State *L) {
  size_t pem_len, htm_len, htu_len, jti_len = 0;
  const char *pem, *htm, *htu, *jti = NULL;
  double iat;
  char uuid[37];
  char group[64];
  size_t group_len = 0, der_len = 0;
  unsigned char xb[32], yb[32], rs[64];
  const BIGNUM *r, *sv;
  const unsigned char *dp;
  dpop_state *s;
  luaL_Buffer b;

  /* 1. arguments */
  if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TSTRING || lua_type(L, 3) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError", "dpop_proof: pem, htm and htu must be strings");
  pem = lua_tolstring(L, 1, &pem_len);
  htm = lua_tolstring(L, 2, &htm_len);
  htu = lua_tolstring(L, 3, &htu_len);
  if (pem_len == 0 || pem_len > MAX_PEM)
    return sfn_error_raisef(L, "ValidationError", "dpop_proof: pem must be 1..%d bytes", MAX_PEM);
  if (htm_len == 0 || htm_len > 16 || htu_len == 0 || htu_len > MAX_HTU)
    return sfn_error_raisef(L, "ValidationError", "dpop_proof: htm must be 1..16 and htu 1..%d bytes",
                            MAX_HTU);
  if (lua_type(L, 4) != LUA_TNUMBER)
    return sfn_error_raisef(L, "ValidationError", "dpop_proof: iat must be a number");
  iat = lua_tonumber(L, 4);
  if (!(iat >= 0 && iat < 1e15) || floor(iat) != iat)
    return sfn_error_raisef(L, "ValidationError", "dpop_proof: iat must be an integer >= 0");
  if (!lua_isnoneornil(L, 5)) {
    if (lua_type(L, 5) != LUA_TSTRING)
      return sfn_error_raisef(L, "ValidationError", "dpop_proof: jti must be a string");
    jti = lua_tolstring(L, 5, &jti_len);
    if (jti_len == 0 || jti_len > MAX_JTI)
      return sfn_error_raisef(L, "ValidationError", "dpop_proof: jti must be 1..%d bytes", MAX_JTI);
  }
  lua_settop(L, 5);

  /* 2. the owner, then the key */
  s = lua_newuserdata(L, sizeof *s); /* index 6 */
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, DPOP_MT);
  ERR_clear_error();
  s->bio = BIO_new_mem_buf(pem, (int)pem_len);
  if (!s->bio) return openssl_fail(L, s, "out of memory");
  s->pkey = PEM_read_bio_PrivateKey(s->bio, NULL, no_password, NULL);
  if (!s->pkey) return openssl_fail(L, s, "the dpopKey is not a readable unencrypted PEM private key");
  if (!EVP_PKEY_is_a(s->pkey, "EC") ||
      !EVP_PKEY_get_utf8_string_param(s->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                      &group_len) ||
      strcmp(group, "prime256v1") != 0)
    return openssl_fail(L, s, "the dpopKey is not an EC P-256 key");
  if (!EVP_PKEY_get_bn_param(s->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &s->x) ||
      !EVP_PKEY_get_bn_param(s->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &s->y) ||
      BN_bn2binpad(s->x, xb, 32) != 32 || BN_bn2binpad(s->y, yb, 32) != 32)
    return openssl_fail(L, s, "the dpopKey has no usable public point");

  if (jti == NULL) {
    unsigned char rnd[16];
    static const char hex[] = "0123456789abcdef";
    int i, o = 0;
    if (RAND_bytes(rnd, sizeof rnd) != 1) return openssl_fail(L, s, "no random bytes for the jti");
    rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);
    rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);
    for (i = 0; i < 16; i++) {
      if (i == 4 || i == 6 || i == 8 || i == 10) uuid[o++] = '-';
      uuid[o++] = hex[rnd[i] >> 4];
      uuid[o++] = hex[rnd[i] & 15];
    }
    uuid[o] = '\0';
    jti = uuid;
    jti_len = 36;
  }

  /* 3. header and payload, as botocore's json.dumps(separators=(',', ':')) */
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"x\":\"");
  add_b64url(&b, xb, 32);
  luaL_addstring(&b, "\",\"y\":\"");
  add_b64url(&b, yb, 32);
  luaL_addstring(&b, "\",\"crv\":\"P-256\"}}");
  luaL_pushresult(&b); /* 7 */
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "{\"htm\":");
  sfn_json_add_string(&b, htm, htm_len);
  luaL_addstring(&b, ",\"htu\":");
  sfn_json_add_string(&b, htu, htu_len);
  {
    char num[32];
    snprintf(num, sizeof num, ",\"iat\":%.0f,\"jti\":", iat);
    luaL_addstring(&b, num);
  }
  sfn_json_add_string(&b, jti, jti_len);
  luaL_addchar(&b, '}');
  luaL_pushresult(&b); /* 8 */
  push_b64url_of(L, 7); /* 9 */
  lua_pushliteral(L, ".");
  push_b64url_of(L, 8);
  lua_concat(L, 3); /* 9: the signing input */

  /* 4. sign: DER ECDSA, then r || s, 32 bytes each */
  {
    size_t in_len;
    const char *in = lua_tolstring(L, 9, &in_len);
    s->md = EVP_MD_CTX_new();
    if (!s->md) return openssl_fail(L, s, "out of memory");
    if (EVP_DigestSignInit(s->md, NULL, EVP_sha256(), NULL, s->pkey) != 1 ||
        EVP_DigestSign(s->md, NULL, &der_len, (const unsigned char *)in, in_len) != 1)
      return openssl_fail(L, s, "signing failed");
    s->der = OPENSSL_malloc(der_len);
    if (!s->der) return openssl_fail(L, s, "out of memory");
    if (EVP_DigestSign(s->md, s->der, &der_len, (const unsigned char *)in, in_len) != 1)
      return openssl_fail(L, s, "signing failed");
  }
  dp = s->der;
  s->sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
  if (!s->sig) return openssl_fail(L, s, "unreadable signature");
  ECDSA_SIG_get0(s->sig, &r, &sv);
  if (BN_bn2binpad(r, rs, 32) != 32 || BN_bn2binpad(sv, rs + 32, 32) != 32)
    return openssl_fail(L, s, "unexpected signature size");
  dpop_free(s);

  /* 5. the JWT */
  lua_pushliteral(L, ".");
  luaL_buffinit(L, &b);
  add_b64url(&b, rs, 64);
  luaL_pushresult(&b);
  lua_concat(L, 3);
  return 1;
}

/* Pushes the lowercase hex digest of the string argument. */
static int push_digest(lua_State *L, const EVP_MD *md, const char *name) {
  static const char hex[] = "0123456789abcdef";
  unsigned char out[EVP_MAX_MD_SIZE];
  char text[2 * EVP_MAX_MD_SIZE];
  unsigned int n = 0, i;
  size_t len;
  const char *data;
  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError", "%s: the argument must be a string", name);
  data = lua_tolstring(L, 1, &len);
  if (EVP_Digest(data, len, out, &n, md, NULL) != 1) {
    ERR_clear_error();
    return sfn_error_raisef(L, "CredentialsError", "%s failed", name);
  }
  for (i = 0; i < n; i++) {
    text[2 * i] = hex[out[i] >> 4];
    text[2 * i + 1] = hex[out[i] & 15];
  }
  lua_pushlstring(L, text, 2 * (size_t)n);
  return 1;
}

/** Lowercase hex SHA-1 of a string (SSO and CLI cache file names).
 * @function sha1_hex
 * @tparam string data
 * @treturn string */
static int l_sha1_hex(lua_State *L) {
  return push_digest(L, EVP_sha1(), "sha1_hex");
}

/** Lowercase hex SHA-256 of a string (login cache file names).
 * @function sha256_hex
 * @tparam string data
 * @treturn string */
static int l_sha256_hex(lua_State *L) {
  return push_digest(L, EVP_sha256(), "sha256_hex");
}

void sfn_dpop_open(lua_State *L) {
  luaL_newmetatable(L, DPOP_MT);
  lua_pushcfunction(L, dpop_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_dpop_proof);
  lua_setfield(L, -2, "dpop_proof");
  lua_pushcfunction(L, l_sha1_hex);
  lua_setfield(L, -2, "sha1_hex");
  lua_pushcfunction(L, l_sha256_hex);
  lua_setfield(L, -2, "sha256_hex");
}

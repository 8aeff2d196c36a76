/* libcrypto, mapped the first time sfn.core hashes, signs or draws random
 * bytes from it, not when the module loads: relocating libcrypto.so.3 is
 * about a millisecond of every interpreter's start-up, and a process that
 * only makes clients (or fails before its first call) never needs it.
 *
 * sfn.core does not link libcrypto. The OpenSSL functions its files call
 * are defined here under their own names, hidden (-fvisibility=hidden: not
 * exported, so nothing outside sfn.core sees them and libcrypto's own
 * symbols stay libcrypto's), each forwarding to the function dlsym found
 * in the library; the calling files are written against OpenSSL's headers
 * as usual. The types come from those headers (__typeof__), so a changed
 * signature fails to compile here. A build that still links -lcrypto (a
 * caller's LIBS) works the same: these definitions win inside sfn.core.
 *
 * The library is opened once per process (pthread_once), RTLD_LOCAL, and
 * never closed; libcurl's libssl later maps the same object. When it cannot
 * be opened, every forwarder reports failure as OpenSSL would (NULL, 0,
 * -1), which the callers already turn into a ConfigError.
 *
 * Not forwarded: OPENSSL_cleanse and CRYPTO_memcmp are done here (the
 * volatile memset and the constant-time compare OpenSSL's C versions use),
 * so that wiping a buffer at __gc never maps the library, and the frees
 * do nothing before it is mapped (nothing can have been allocated). */

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#ifndef SFN_LIBCRYPTO
#define SFN_STR_(x) #x
#define SFN_STR(x) SFN_STR_(x)
#ifdef __APPLE__
#define SFN_LIBCRYPTO "libcrypto." SFN_STR(OPENSSL_SHLIB_VERSION) ".dylib"
#else
#define SFN_LIBCRYPTO "libcrypto.so." SFN_STR(OPENSSL_SHLIB_VERSION)
#endif
#endif

/* Every function forwarded, as libcrypto names it. */
#define SFN_CRYPTO_FUNCTIONS(X)                                              \
  X(BIO_free) X(BIO_new_mem_buf) X(BN_bn2binpad) X(BN_free) X(CRYPTO_free) \
  X(CRYPTO_malloc) X(ECDSA_SIG_free) X(ECDSA_SIG_get0) X(ERR_clear_error)   \
  X(ERR_error_string_n) X(ERR_get_error) X(EVP_Digest) X(EVP_DigestSign)   \
  X(EVP_DigestSignInit) X(EVP_DigestInit_ex) X(EVP_DigestUpdate)          \
  X(EVP_DigestFinal_ex) X(EVP_MD_CTX_copy_ex) X(EVP_MD_CTX_free)           \
  X(EVP_MD_CTX_new) X(EVP_MD_fetch) X(EVP_MD_free) X(EVP_PKEY_free)        \
  X(EVP_PKEY_get_bn_param) X(EVP_PKEY_get_utf8_string_param)              \
  X(EVP_PKEY_is_a) X(EVP_sha1) X(EVP_sha256) X(PEM_read_bio_PrivateKey)    \
  X(RAND_bytes) X(d2i_ECDSA_SIG)

static struct {
#define SFN_CRYPTO_FIELD(name) __typeof__(&name) name;
  SFN_CRYPTO_FUNCTIONS(SFN_CRYPTO_FIELD)
#undef SFN_CRYPTO_FIELD
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded; /* 1 once every function is found; read with acquire */

static void load(void) {
  void *lib = dlopen(SFN_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return;
#define SFN_CRYPTO_FIND(name)                                          \
  if ((*(void **)&fn.name = dlsym(lib, #name)) == NULL) return;
  SFN_CRYPTO_FUNCTIONS(SFN_CRYPTO_FIND)
#undef SFN_CRYPTO_FIND
  __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

/* Maps the library on first use; 1 when its functions can be called. */
static int ready(void) {
  if (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) return 1;
  pthread_once(&once, load);
  return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE);
}

static int mapped(void) { return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE); }

/* ------------------------------------------------------------------------ */
/* Done here                                                                 */

static void *(*const volatile wipe)(void *, int, size_t) = memset;

void OPENSSL_cleanse(void *ptr, size_t len) { wipe(ptr, 0, len); }

int CRYPTO_memcmp(const void *in_a, const void *in_b, size_t len) {
  const volatile unsigned char *a = in_a, *b = in_b;
  unsigned char x = 0;
  size_t i;
  for (i = 0; i < len; i++) x |= a[i] ^ b[i];
  return x;
}

/* ------------------------------------------------------------------------ */
/* Forwarded, mapping the library first; the frees only once it is mapped   */
/* (nothing can have been allocated before).                                */

void ERR_clear_error(void) {
  if (ready()) fn.ERR_clear_error();
}

unsigned long ERR_get_error(void) { return ready() ? fn.ERR_get_error() : 0; }

void ERR_error_string_n(unsigned long e, char *buf, size_t len) {
  if (ready())
    fn.ERR_error_string_n(e, buf, len);
  else if (len > 0)
    snprintf(buf, len, "%s could not be loaded", SFN_LIBCRYPTO);
}

const EVP_MD *EVP_sha256(void) { return ready() ? fn.EVP_sha256() : NULL; }

const EVP_MD *EVP_sha1(void) { return ready() ? fn.EVP_sha1() : NULL; }

int EVP_Digest(const void *data, size_t count, unsigned char *md,
               unsigned int *size, const EVP_MD *type, ENGINE *impl) {
  return ready() ? fn.EVP_Digest(data, count, md, size, type, impl) : 0;
}

int RAND_bytes(unsigned char *buf, int num) {
  return ready() ? fn.RAND_bytes(buf, num) : 0;
}

void *CRYPTO_malloc(size_t num, const char *file, int line) {
  return ready() ? fn.CRYPTO_malloc(num, file, line) : NULL;
}

void CRYPTO_free(void *ptr, const char *file, int line) {
  if (mapped()) fn.CRYPTO_free(ptr, file, line);
}

BIO *BIO_new_mem_buf(const void *buf, int len) {
  return ready() ? fn.BIO_new_mem_buf(buf, len) : NULL;
}

int BIO_free(BIO *a) { return mapped() ? fn.BIO_free(a) : 0; }

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb,
                                  void *u) {
  return ready() ? fn.PEM_read_bio_PrivateKey(bp, x, cb, u) : NULL;
}

int EVP_PKEY_is_a(const EVP_PKEY *pkey, const char *name) {
  return ready() ? fn.EVP_PKEY_is_a(pkey, name) : 0;
}

int EVP_PKEY_get_utf8_string_param(const EVP_PKEY *pkey, const char *key_name,
                                   char *str, size_t max_buf_sz,
                                   size_t *out_sz) {
  return ready() ? fn.EVP_PKEY_get_utf8_string_param(pkey, key_name, str,
                                                     max_buf_sz, out_sz)
                 : 0;
}

int EVP_PKEY_get_bn_param(const EVP_PKEY *pkey, const char *key_name,
                          BIGNUM **bn) {
  return ready() ? fn.EVP_PKEY_get_bn_param(pkey, key_name, bn) : 0;
}

void EVP_PKEY_free(EVP_PKEY *pkey) {
  if (mapped()) fn.EVP_PKEY_free(pkey);
}

EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm,
                     const char *properties) {
  return ready() ? fn.EVP_MD_fetch(ctx, algorithm, properties) : NULL;
}

void EVP_MD_free(EVP_MD *md) {
  if (mapped()) fn.EVP_MD_free(md);
}

int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl) {
  return ready() ? fn.EVP_DigestInit_ex(ctx, type, impl) : 0;
}

int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt) {
  return ready() ? fn.EVP_DigestUpdate(ctx, d, cnt) : 0;
}

int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s) {
  return ready() ? fn.EVP_DigestFinal_ex(ctx, md, s) : 0;
}

int EVP_MD_CTX_copy_ex(EVP_MD_CTX *out, const EVP_MD_CTX *in) {
  return ready() ? fn.EVP_MD_CTX_copy_ex(out, in) : 0;
}

EVP_MD_CTX *EVP_MD_CTX_new(void) {
  return ready() ? fn.EVP_MD_CTX_new() : NULL;
}

void EVP_MD_CTX_free(EVP_MD_CTX *ctx) {
  if (mapped()) fn.EVP_MD_CTX_free(ctx);
}

int EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx,
                       const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey) {
  return ready() ? fn.EVP_DigestSignInit(ctx, pctx, type, e, pkey) : 0;
}

int EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
                   const unsigned char *tbs, size_t tbslen) {
  return ready() ? fn.EVP_DigestSign(ctx, sigret, siglen, tbs, tbslen) : 0;
}

ECDSA_SIG *d2i_ECDSA_SIG(ECDSA_SIG **sig, const unsigned char **pp, long len) {
  return ready() ? fn.d2i_ECDSA_SIG(sig, pp, len) : NULL;
}

void ECDSA_SIG_get0(const ECDSA_SIG *sig, const BIGNUM **pr,
                    const BIGNUM **ps) {
  if (ready()) {
    fn.ECDSA_SIG_get0(sig, pr, ps);
  } else {
    if (pr != NULL) *pr = NULL;
    if (ps != NULL) *ps = NULL;
  }
}

void ECDSA_SIG_free(ECDSA_SIG *sig) {
  if (mapped()) fn.ECDSA_SIG_free(sig);
}

int BN_bn2binpad(const BIGNUM *a, unsigned char *to, int tolen) {
  return ready() ? fn.BN_bn2binpad(a, to, tolen) : -1;
}

void BN_free(BIGNUM *a) {
  if (mapped()) fn.BN_free(a);
}

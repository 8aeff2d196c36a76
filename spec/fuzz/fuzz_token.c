/* libFuzzer target: the resume-token codec (src/token.c), botocore's
 * TokenEncoder and PageIterator._parse_starting_token.
 *
 * Input: 1 byte of mode, then
 *   mode bit 0 = 0: the rest is a starting token for sfn_token_decode;
 *   mode bit 0 = 1: round trip. 8 bytes of amount (big-endian; top bit set:
 *     no boto_truncate_amount, else folded into 0..2^53), then the service
 *     nextToken (the rest; mode bit 1 set: a null nextToken instead).
 *   mode 0xC0..0xFF additionally make the Lua allocator fail after
 *   ((mode >> 2) & 0x0F) * 2 growing allocations.
 *
 * Decode: returns a string or nil and an amount in 0..2^53, or raises a
 * ValidationError (a longer token than SFN_TOKEN_MAX always does).
 *
 * Round trip, for every nextToken this library could have sent to the
 * service (what sfn_params_check accepts: strict UTF-8, no NUL, 1..1024
 * code points) and for null: sfn_token_decode(sfn_token_push_encoded(t, a))
 * gives back t and a (0 when absent), and the encoded token is accepted
 * (no ValidationError) -- whatever the pager hands out as a resume token
 * must resume (SFN_FUZZ_SKIP=token-length: except when the encoding is
 * longer than SFN_TOKEN_MAX). Tokens outside that domain must still encode
 * to something decode takes without crashing. */
#include "fuzz_common.h"
#include "token.h"

#define NEXT_TOKEN_MAX_CHARS 1024 /* the service model, as src/request.c */

/* Code points of a valid UTF-8 string with no NUL; -1 otherwise. */
static long sendable_chars(const char *s, size_t len) {
  long n = 0;
  size_t i;
  if (memchr(s, '\0', len) != NULL || !sfn_token_utf8_valid(s, len))
    return -1;
  for (i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
  return n;
}

typedef struct decode_args {
  const char *s;
  size_t len;
  long long amount;
} decode_args;

static int call_decode(lua_State *L) {
  decode_args *a = (decode_args *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  a->amount = sfn_token_decode(L, a->s, a->len, "token");
  FUZZ_ASSERT(lua_gettop(L) == 1, "sfn_token_decode left %d values",
              lua_gettop(L));
  return 1;
}

typedef struct encode_args {
  const char *tok; /* NULL: null */
  size_t len;
  long long amount;
} encode_args;

static int call_encode(lua_State *L) {
  encode_args *a = (encode_args *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  sfn_token_push_encoded(L, a->tok, a->len, a->amount);
  FUZZ_ASSERT(lua_gettop(L) == 1 && lua_type(L, 1) == LUA_TSTRING,
              "sfn_token_push_encoded did not push one string");
  return 1;
}

/* Decodes s under pcall. Returns the pcall status; on success the token
 * (string or nil) is on top and *amount set. */
static int decode(lua_State *L, const char *s, size_t len, long long *amount) {
  decode_args a;
  int status;
  a.s = s;
  a.len = len;
  a.amount = -1;
  lua_pushcfunction(L, call_decode);
  lua_pushlightuserdata(L, &a);
  status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    if (fuzz_check_error_value(L, -1, status, "sfn_token_decode")) {
      lua_getfield(L, -1, "code");
      FUZZ_ASSERT(strcmp(lua_tostring(L, -1), "ValidationError") == 0,
                  "sfn_token_decode raised a %s", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    return status;
  }
  FUZZ_ASSERT(lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING,
              "sfn_token_decode pushed a %s", luaL_typename(L, -1));
  FUZZ_ASSERT(a.amount >= 0 && a.amount <= SFN_TOKEN_AMOUNT_MAX,
              "amount %lld out of range", a.amount);
  *amount = a.amount;
  return LUA_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int skip_length;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  skip_length = fuzz_skip("token-length");
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_begin(data, size);
  unsigned mode;
  int status, fail;
  long long amount;
  if (size < 1) return 0;
  mode = data[0];
  fail = (mode & 0xC0) == 0xC0;
  if (fail) fuzz_fail_after((long)((mode >> 2) & 0x0F) * 2);

  if ((mode & 1) == 0) {
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    status = decode(L, s, len, &amount);
    if (len > SFN_TOKEN_MAX)
      FUZZ_ASSERT(status != LUA_OK, "a token of %zu bytes was accepted", len);
  } else if (size >= 9) {
    encode_args e;
    uint64_t raw = 0;
    long chars;
    int i, in_domain;
    for (i = 1; i <= 8; i++) raw = raw << 8 | data[i];
    e.amount = (raw >> 63) ? -1
                           : (long long)(raw % (uint64_t)(SFN_TOKEN_AMOUNT_MAX + 1));
    e.tok = (mode & 2) ? NULL : (const char *)data + 9;
    e.len = (mode & 2) ? 0 : size - 9;
    if (e.tok != NULL && !sfn_token_utf8_valid(e.tok, e.len)) {
      /* the encoder's callers check UTF-8 first; so do we */
      fuzz_end();
      return 0;
    }
    chars = e.tok == NULL ? 0 : sendable_chars(e.tok, e.len);
    in_domain = e.tok == NULL || (chars >= 1 && chars <= NEXT_TOKEN_MAX_CHARS);
    lua_pushcfunction(L, call_encode);
    lua_pushlightuserdata(L, &e);
    status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
      fuzz_check_error_value(L, -1, status, "sfn_token_push_encoded");
      FUZZ_ASSERT(fuzz_alloc_failed, "sfn_token_push_encoded raised");
    } else {
      size_t enc_len;
      const char *enc = lua_tolstring(L, -1, &enc_len);
      status = decode(L, enc, enc_len, &amount);
      if (enc_len > SFN_TOKEN_MAX && skip_length) in_domain = 0;
      if (in_domain && !fuzz_alloc_failed) {
        FUZZ_ASSERT(status == LUA_OK,
                    "the encoding of a sendable %ld-character token (%zu "
                    "bytes encoded) does not decode: %s",
                    chars, enc_len,
                    lua_type(L, -1) == LUA_TTABLE
                        ? (lua_getfield(L, -1, "message"), lua_tostring(L, -1))
                        : "?");
        if (e.tok == NULL) {
          FUZZ_ASSERT(lua_isnil(L, -1), "null came back as a %s",
                      luaL_typename(L, -1));
        } else {
          size_t back_len;
          const char *back = lua_tolstring(L, -1, &back_len);
          FUZZ_ASSERT(back != NULL && back_len == e.len &&
                          memcmp(back, e.tok, e.len) == 0,
                      "the token came back different (%zu bytes, not %zu)",
                      back_len, e.len);
        }
        FUZZ_ASSERT(amount == (e.amount < 0 ? 0 : e.amount),
                    "amount %lld came back as %lld", e.amount, amount);
      }
    }
  }
  fuzz_end();
  return 0;
}

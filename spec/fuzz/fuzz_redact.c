/* libFuzzer target: redaction (src/redact.c), the last line between a
 * service that echoes what it was sent and what a user sees.
 *
 * Input: 1 byte k (the secret's length, 16..64 from k % 49 + 16: real
 * secrets are 40 bytes and more, and a shorter one could be spelt by the
 * "<redacted>" that replaces it), 1 byte p
 * (where to plant it), 1 byte c (how much of its end to cut off), then the
 * secret (k bytes), then the text. The secret, cut by c bytes at the end
 * (as a message cut at 1,024 bytes leaves it), is planted in the text at p
 * % (len + 1); a second secret, the first one reversed, is passed too.
 *
 * Properties: the result holds no SFN_REDACT_FRAGMENT-byte window of either
 * secret; a text that
 * holds none keeps every byte (nothing redacted, nothing pushed); and an
 * allocation failure raises only a memory error. */
#define _GNU_SOURCE /* memmem */
#include "fuzz_common.h"
#include "redact.h"

/* Whether text holds an SFN_REDACT_FRAGMENT-byte window of the secret. */
static int leaks(const char *text, size_t len, const char *secret,
                 size_t secret_len) {
  size_t i;
  for (i = 0; i + SFN_REDACT_FRAGMENT <= secret_len; i++)
    if (memmem(text, len, secret + i, SFN_REDACT_FRAGMENT) != NULL) return 1;
  return 0;
}

typedef struct redact_args {
  const char *text;
  size_t len;
  const char *secrets[2];
  size_t lens[2];
  int pushed;
} redact_args;

static int call_redact(lua_State *L) {
  redact_args *a = (redact_args *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  a->pushed = sfn_redact_push(L, a->text, a->len, a->secrets, a->lens, 2);
  FUZZ_ASSERT(lua_gettop(L) == a->pushed, "sfn_redact_push left %d values "
              "and returned %d", lua_gettop(L), a->pushed);
  return a->pushed;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L;
  redact_args a;
  char secret[64], reversed[64], *text;
  size_t k, cut, at, rest_len, planted, i;
  int status;
  if (size < 3) return 0;
  k = data[0] % 49 + SFN_REDACT_FRAGMENT;
  if (size < 3 + k) return 0;
  memcpy(secret, data + 3, k);
  /* the replacement's own bytes must not help spell a secret */
  if (memchr(secret, '<', k) != NULL || memchr(secret, '>', k) != NULL)
    return 0;
  for (i = 0; i < k; i++) reversed[i] = secret[k - 1 - i];
  cut = data[2] % (k + 1);
  planted = k - cut;
  rest_len = size - 3 - k;
  at = data[1] % (rest_len + 1);
  text = malloc(rest_len + planted + 1);
  if (text == NULL) return 0;
  memcpy(text, data + 3 + k, at);
  memcpy(text + at, secret, planted);
  memcpy(text + at + planted, data + 3 + k + at, rest_len - at);
  L = fuzz_begin(data, size);
  a.text = text;
  a.len = rest_len + planted;
  a.secrets[0] = secret;
  a.lens[0] = k;
  a.secrets[1] = reversed;
  a.lens[1] = k;
  a.pushed = 0;
  lua_pushcfunction(L, call_redact);
  lua_pushlightuserdata(L, &a);
  status = lua_pcall(L, 1, 1, 0);
  FUZZ_ASSERT(status == LUA_OK, "sfn_redact_push raised (status %d)", status);
  if (a.pushed) {
    size_t out_len;
    const char *out = lua_tolstring(L, -1, &out_len);
    FUZZ_ASSERT(!leaks(out, out_len, secret, k) &&
                    !leaks(out, out_len, reversed, k),
                "a fragment of a secret survived redaction");
  } else {
    FUZZ_ASSERT(!leaks(a.text, a.len, secret, k) &&
                    !leaks(a.text, a.len, reversed, k),
                "a text holding a secret was left as it was");
  }
  free(text);
  fuzz_end();
  return 0;
}

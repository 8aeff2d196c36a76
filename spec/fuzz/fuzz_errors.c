/* libFuzzer target: the service-error path of the reply decoder
 * (sfn_reply_decode for non-2xx replies: error-code normalisation from the
 * body's __type/code and the X-Amzn-Errortype header, message choice,
 * retry classification).
 *
 * Input: 1 byte of status (400 + b % 200, so 400..599), 1 byte of mode
 * (0xC0..0xFF: the Lua allocator fails after (mode & 0x3F) * 2 growing
 * allocations), then NUL-separated fields:
 *   X-Amzn-Errortype \0 reason phrase \0 x-amzn-RequestId \0 body
 * A field that is missing (fewer NULs) is an absent header; the body is the
 * rest of the input, NULs included.
 *
 * Checked on every input: the result is an sfn.Error (never a page, never a
 * raise except a planned memory error) with status, a non-empty code that
 * holds no ':' or '#' (botocore's normalisation) and no surrounding JSON
 * whitespace (the decoder also trims) unless it is the bare status, a message; retryable is true
 * for 500/502/503/504 and for every throttling code, false for the codes
 * the issue lists as never retried (on other statuses); attempts is 1;
 * tostring is one line. */
#include "fuzz_common.h"
#include "reply.h"

static const char *const throttling[] = {
    "Throttling", "ThrottlingException", "ThrottledException",
    "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
    "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
    NULL};
static const char *const never_retried[] = {
    "ExecutionDoesNotExist", "InvalidArn", "InvalidToken",
    "ValidationException", "AccessDeniedException",
    "UnrecognizedClientException", "ValidationError", NULL};

static int listed(const char *const *list, const char *s) {
  int i;
  for (i = 0; list[i] != NULL; i++)
    if (strcmp(list[i], s) == 0) return 1;
  return 0;
}

/* Splits off the next NUL-terminated field; NULL when none is left. */
static char *next_field(char **p, char *end) {
  char *start = *p, *nul;
  if (start == NULL || start > end) return NULL;
  nul = memchr(start, '\0', (size_t)(end - start));
  if (nul == NULL) return NULL;
  *p = nul + 1;
  return start;
}

/* What the decoder trims from a code (JSON's whitespace). */
static int json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int all_digits(const char *s) {
  if (*s == '\0') return 0;
  for (; *s != '\0'; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static int call_decode(lua_State *L) {
  const sfn_reply *r = (const sfn_reply *)lua_touserdata(L, 1);
  int ok;
  lua_settop(L, 0);
  ok = sfn_reply_decode(L, r);
  FUZZ_ASSERT(lua_gettop(L) == 1, "sfn_reply_decode left %d values",
              lua_gettop(L));
  lua_pushboolean(L, ok);
  return 2;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_begin(data, size);
  sfn_reply r;
  unsigned mode;
  int status;
  char *copy, *p, *end;
  if (size < 2) return 0;
  memset(&r, 0, sizeof r);
  r.status = 400 + data[0] % 200;
  mode = data[1];
  /* a copy with a NUL after the end, so the header fields are C strings */
  copy = malloc(size - 2 + 1);
  if (copy == NULL) return 0;
  memcpy(copy, data + 2, size - 2);
  copy[size - 2] = '\0';
  p = copy;
  end = copy + (size - 2);
  r.error_type = next_field(&p, end);
  r.reason = next_field(&p, end);
  r.request_id = next_field(&p, end);
  if (r.request_id != NULL) {
    r.body = p;
    r.body_len = (size_t)(end - p);
  } else {
    r.body = "";
    r.body_len = 0;
  }

  lua_pushcfunction(L, call_decode);
  lua_pushlightuserdata(L, &r);
  if ((mode & 0xC0) == 0xC0) fuzz_fail_after((long)(mode & 0x3F) * 2);
  status = lua_pcall(L, 1, 2, 0);
  fuzz_fail_after(-1);
  if (status != LUA_OK) {
    fuzz_check_error_value(L, -1, status, "sfn_reply_decode (raised)");
    FUZZ_ASSERT(fuzz_alloc_failed, "raised without a memory error");
  } else {
    const char *code, *message;
    size_t code_len, message_len;
    int retryable;
    FUZZ_ASSERT(!lua_toboolean(L, 2), "a page for status %ld", r.status);
    fuzz_check_error_value(L, 1, LUA_OK, "sfn_reply_decode");
    lua_getfield(L, 1, "status");
    FUZZ_ASSERT(lua_tointeger(L, -1) == r.status, "err.status is wrong");
    lua_getfield(L, 1, "code");
    code = lua_tolstring(L, -1, &code_len);
    FUZZ_ASSERT(strlen(code) == code_len, "code holds a NUL");
    if (!all_digits(code)) {
      FUZZ_ASSERT(strchr(code, ':') == NULL && strchr(code, '#') == NULL,
                  "code '%s' is not normalised", code);
      FUZZ_ASSERT(!json_space(code[0]) && !json_space(code[code_len - 1]),
                  "code '%s' is not trimmed", code);
    }
    lua_getfield(L, 1, "message");
    message = lua_tolstring(L, -1, &message_len);
    (void)message;
    lua_getfield(L, 1, "retryable");
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TBOOLEAN, "retryable is not a boolean");
    retryable = lua_toboolean(L, -1);
    if (r.status == 500 || r.status == 502 || r.status == 503 ||
        r.status == 504 || listed(throttling, code))
      FUZZ_ASSERT(retryable, "code %s, status %ld not retryable", code,
                  r.status);
    else if (listed(never_retried, code))
      FUZZ_ASSERT(!retryable, "code %s, status %ld retryable", code,
                  r.status);
    lua_getfield(L, 1, "attempts");
    FUZZ_ASSERT(lua_tointeger(L, -1) == 1, "attempts is not 1");
    lua_settop(L, 2);
    fuzz_check_tostring(L, 1);
  }
  fuzz_end();
  free(copy);
  return 0;
}

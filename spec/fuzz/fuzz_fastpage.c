/* libFuzzer target: the reply decoder's fast path (src/fastpage.c) against
 * its cJSON path (src/reply.c), differentially, on the same 2xx body.
 *
 * Input: the body, all of it (NULs included). Seed it with real replies
 * (bench/gen_replies.py) and the bodies of the reply target's corpus.
 *
 * Checked on every input:
 *   - sfn_fastpage_decode, called directly, leaves the stack as it found it
 *     when it declines and pushes exactly one table when it takes the body;
 *   - when it takes the body, the cJSON path alone (core._decode_reply_cjson)
 *     gives a page too, with a deeply equal mapRuns (same keys in the same
 *     pairs() order, same strings, numbers bit for bit, -0.0 included) and
 *     the same nextToken;
 *   - core.decode_reply and core._decode_reply_cjson agree: deeply equal
 *     pages, or the same sfn.Error code and message;
 *   - on one input in eight (picked by a hash of the input, so that a
 *     finding replays), both the fast path alone and decode_reply run again
 *     with the Lua allocator failing after some allocations: they may raise
 *     a memory error (decode_reply also its usual sfn.Error) and nothing
 *     else, and leak nothing (LeakSanitizer). */
#include <cJSON.h>

#include "fastpage.h"
#include "fuzz_common.h"

/* The key strings, in fastpage.h's K_ order. */
static const char *const key_names[K_COUNT] = {
    "executionArn", "mapRunArn", "stateMachineArn", "startDate",
    "stopDate",     "mapRuns",   "nextToken",       "ResponseMetadata"};

/* Nesting of a page: page, mapRuns, item, and one spare. */
#define SAME_DEPTH_MAX 4

static unsigned long runs, taken_runs;

/* How much of the input the fast path took: a target whose inputs it
 * always declines would check nothing. */
static void report_taken(void) {
  fprintf(stderr, "fuzz_fastpage: the fast path took %lu of %lu inputs\n",
          taken_runs, runs);
}

/* fast(body) -> the fast path's page, or false where it declines; checks
 * the stack it leaves. */
static int call_fastpage(lua_State *L) {
  size_t len;
  const char *body = lua_tolstring(L, 1, &len);
  int keys, top, k, took;
  lua_settop(L, 1);
  keys = 2;
  for (k = 0; k < K_COUNT; k++) lua_pushstring(L, key_names[k]);
  top = lua_gettop(L);
  took = sfn_fastpage_decode(L, body, len, keys);
  FUZZ_ASSERT(lua_gettop(L) == top + took,
              "sfn_fastpage_decode returned %d and moved the stack by %d",
              took, lua_gettop(L) - top);
  if (!took) {
    lua_pushboolean(L, 0);
    return 1;
  }
  FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE, "the fast page is a %s",
              luaL_typename(L, -1));
  return 1;
}

static int same_value(lua_State *L, int a, int b, int depth);

/* Same keys, met in the same order by lua_next, with the same values. */
static int same_table(lua_State *L, int a, int b, int depth) {
  int ka, kb, more_a, more_b, same = 1;
  if (depth > SAME_DEPTH_MAX || !lua_checkstack(L, 8)) return 0;
  lua_pushnil(L);
  ka = lua_gettop(L);
  lua_pushnil(L);
  kb = lua_gettop(L);
  while (same) {
    lua_pushvalue(L, ka);
    more_a = lua_next(L, a); /* key, value of a */
    lua_pushvalue(L, kb);
    more_b = lua_next(L, b); /* key, value of b */
    if (!more_a || !more_b) {
      same = more_a == more_b;
      break;
    }
    same = lua_rawequal(L, -4, -2) && same_value(L, -3, -1, depth + 1);
    lua_pop(L, 1);
    lua_replace(L, kb);
    lua_pop(L, 1);
    lua_replace(L, ka);
  }
  lua_settop(L, ka - 1);
  return same;
}

static int same_value(lua_State *L, int a, int b, int depth) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_type(L, a) != lua_type(L, b)) return 0;
  switch (lua_type(L, a)) {
    case LUA_TTABLE: return same_table(L, a, b, depth);
    case LUA_TNUMBER: {
      lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
#if LUA_VERSION_NUM >= 503
      if (lua_isinteger(L, a) != lua_isinteger(L, b)) return 0;
#endif
      return memcmp(&x, &y, sizeof x) == 0; /* bit for bit */
    }
    default: return lua_rawequal(L, a, b);
  }
}

/* Pushes the call f(200, nil, body), for lua_pcall(L, 3, 1, 0). */
static void push_decode(lua_State *L, const char *f, const uint8_t *data,
                        size_t size) {
  fuzz_push_core(L, f);
  lua_pushinteger(L, 200);
  lua_pushnil(L);
  lua_pushlstring(L, (const char *)data, size);
}

/* Calls f(200, nil, body); leaves its result or error on top. */
static int call_decode(lua_State *L, const char *f, const uint8_t *data,
                       size_t size) {
  push_decode(L, f, data, size);
  return lua_pcall(L, 3, 1, 0);
}

static void check_same_error(lua_State *L, int e1, int e2) {
  static const char *const fields[] = {"code", "message", "status",
                                       "retryable"};
  size_t i;
  fuzz_check_error_value(L, e1, LUA_OK, "decode_reply");
  fuzz_check_error_value(L, e2, LUA_OK, "_decode_reply_cjson");
  for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    lua_getfield(L, e1, fields[i]);
    lua_getfield(L, e2, fields[i]);
    FUZZ_ASSERT(lua_rawequal(L, -1, -2), "err.%s differs: %s vs %s",
                fields[i], lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 2);
  }
}

/* The fast page (at fast) against the cJSON path's page (at page): the
 * same mapRuns and nextToken. */
static void check_fast_page(lua_State *L, int fast, int page) {
  int i;
  static const char *const fields[] = {"mapRuns", "nextToken"};
  for (i = 0; i < 2; i++) {
    lua_getfield(L, fast, fields[i]);
    lua_getfield(L, page, fields[i]);
    FUZZ_ASSERT(same_value(L, -2, -1, 1),
                "the fast path's %s differs from the cJSON path's",
                fields[i]);
    lua_pop(L, 2);
  }
}

/* FNV-1a: picks the inputs that run with a failing allocator. */
static uint32_t input_hash(const uint8_t *data, size_t size) {
  uint32_t h = 2166136261u;
  size_t i;
  for (i = 0; i < size; i++) h = (h ^ data[i]) * 16777619u;
  return h;
}

/* The fast path alone and decode_reply with allocations failing after n:
 * a memory error, or what they give anyway. */
static void run_out_of_memory(lua_State *L, const uint8_t *data, size_t size,
                              long n) {
  int status;
  lua_settop(L, 0);
  lua_pushcfunction(L, call_fastpage);
  lua_pushlstring(L, (const char *)data, size);
  fuzz_fail_after(n);
  status = lua_pcall(L, 1, 1, 0);
  fuzz_fail_after(-1);
  FUZZ_ASSERT(status == LUA_OK || status == LUA_ERRMEM,
              "the fast path raised %s (status %d) without memory",
              lua_tostring(L, -1), status);
  FUZZ_ASSERT(status == LUA_OK || fuzz_alloc_failed,
              "a memory error with no failed allocation");
  lua_settop(L, 0);
  push_decode(L, "decode_reply", data, size);
  fuzz_fail_after(n);
  status = lua_pcall(L, 3, 1, 0);
  fuzz_fail_after(-1);
  if (status != LUA_OK) fuzz_check_error_value(L, -1, status, "decode_reply");
  lua_settop(L, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  atexit(report_taken);
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_begin(data, size);
  int s_fast, s_reply, s_cjson, taken;
  uint32_t h;

  lua_pushcfunction(L, call_fastpage);
  lua_pushlstring(L, (const char *)data, size);
  s_fast = lua_pcall(L, 1, 1, 0); /* 1: the fast page or false */
  FUZZ_ASSERT(s_fast == LUA_OK, "the fast path raised: %s",
              lua_tostring(L, -1));
  taken = lua_toboolean(L, 1);
  s_reply = call_decode(L, "decode_reply", data, size);       /* 2 */
  s_cjson = call_decode(L, "_decode_reply_cjson", data, size); /* 3 */

  FUZZ_ASSERT(!taken || s_cjson == LUA_OK,
              "the fast path took a body the cJSON path rejects: %s",
              lua_tostring(L, 3));
  FUZZ_ASSERT((s_reply == LUA_OK) == (s_cjson == LUA_OK),
              "decode_reply %s, the cJSON path %s",
              s_reply == LUA_OK ? "gave a page" : "failed",
              s_cjson == LUA_OK ? "gave a page" : "failed");
  if (s_reply == LUA_OK) {
    FUZZ_ASSERT(same_value(L, 2, 3, 0),
                "decode_reply's page differs from the cJSON path's");
  } else {
    check_same_error(L, 2, 3);
  }
  runs++;
  if (taken) {
    taken_runs++;
    check_fast_page(L, 1, 3);
  }

  h = input_hash(data, size);
  if ((h & 7) == 0) run_out_of_memory(L, data, size, (long)((h >> 3) % 160));
  fuzz_end();
  return 0;
}

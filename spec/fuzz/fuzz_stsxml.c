/* libFuzzer target: the credential-provider reply readers in src/stsxml.c,
 * core.parse_sts_xml (libexpat) and core.json_decode (cJSON to Lua), called
 * through the module table as lua/sfn/credentials*.lua call them.
 *
 * Input: 1 byte of mode, then the body.
 *   mode bit 0: 0 parse_sts_xml, 1 json_decode
 *   mode 0xC0..0xFF: the Lua allocator fails after ((mode >> 1) & 0x1F) * 2
 *   growing allocations.
 *
 * parse_sts_xml: returns a table or (nil, message); raises only a
 * ResponseError for out-of-memory; the table's fields are strings, except
 * expiration, a finite number; a credentials table has both keys; an error
 * table has error_code.
 * json_decode: returns a value or (nil, "invalid JSON"); raises only an
 * sfn.Error (too deep) or a memory error. */
#include <math.h>

#include "fuzz_common.h"

static void check_sts_table(lua_State *L, int t) {
  int has_error;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    const char *k = lua_tostring(L, -2);
    FUZZ_ASSERT(lua_type(L, -2) == LUA_TSTRING, "a non-string key");
    if (strcmp(k, "expiration") == 0)
      FUZZ_ASSERT(lua_type(L, -1) == LUA_TNUMBER &&
                      isfinite(lua_tonumber(L, -1)),
                  "expiration is not a finite number");
    else
      FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING, "%s is a %s", k,
                  luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  lua_getfield(L, t, "error_code");
  has_error = !lua_isnil(L, -1);
  lua_getfield(L, t, "access_key_id");
  lua_getfield(L, t, "secret_access_key");
  FUZZ_ASSERT(has_error || (!lua_isnil(L, -1) && !lua_isnil(L, -2)),
              "neither credentials nor an error code");
  lua_pop(L, 3);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  return fuzz_init(argc, argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_begin(data, size);
  unsigned mode;
  int status, json;
  const char *what;
  if (size < 1) return 0;
  mode = data[0];
  json = mode & 1;
  what = json ? "json_decode" : "parse_sts_xml";
  fuzz_push_core(L, what);
  lua_pushlstring(L, (const char *)data + 1, size - 1);
  if ((mode & 0xC0) == 0xC0) fuzz_fail_after((long)((mode >> 1) & 0x1F) * 2);
  status = lua_pcall(L, 1, 2, 0);
  fuzz_fail_after(-1);
  if (status != LUA_OK) {
    if (fuzz_check_error_value(L, -1, status, what)) {
      lua_getfield(L, -1, "code");
      FUZZ_ASSERT(strcmp(lua_tostring(L, -1), "ResponseError") == 0,
                  "%s raised a %s", what, lua_tostring(L, -1));
      if (!json) {
        lua_getfield(L, -2, "message");
        FUZZ_ASSERT(fuzz_alloc_failed, "parse_sts_xml raised (%s)",
                    lua_tostring(L, -1));
      }
    }
  } else if (lua_isnil(L, 1)) {
    /* json_decode("null") is a lone nil */
    FUZZ_ASSERT(lua_type(L, 2) == LUA_TSTRING || json,
                "%s: nil without a message", what);
  } else if (!json) {
    FUZZ_ASSERT(lua_type(L, 1) == LUA_TTABLE, "parse_sts_xml returned a %s",
                luaL_typename(L, 1));
    check_sts_table(L, 1);
  }
  fuzz_end();
  return 0;
}

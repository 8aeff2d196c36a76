/* Fragment-aware redaction (see redact.h). Linear in the text for each
 * 16-byte window of a secret, which is plenty for error texts (at most a
 * few KiB) and secrets (at most a few KiB). */
#define _GNU_SOURCE /* memmem */
#include "redact.h"

#include <stdlib.h>
#include <string.h>

/* Marks in covered[] the bytes of text that lie in a copy of the secret or
 * of one of its SFN_REDACT_FRAGMENT-byte windows. */
static void mark(const char *text, size_t len, const char *secret,
                 size_t secret_len, unsigned char *covered) {
  size_t i, window = secret_len < SFN_REDACT_FRAGMENT ? secret_len
                                                       : SFN_REDACT_FRAGMENT;
  if (secret_len == 0 || len < window) return;
  for (i = 0; i + window <= len; i++) {
    int hit = window == secret_len
                  ? memcmp(text + i, secret, window) == 0
                  : memmem(secret, secret_len, text + i, window) != NULL;
    if (hit) memset(covered + i, 1, window);
  }
}

int sfn_redact_push(lua_State *L, const char *text, size_t len,
                    const char *const *secrets, const size_t *lens,
                    size_t count) {
  unsigned char *covered;
  size_t i, any = 0;
  luaL_Buffer out;
  if (len == 0) return 0;
  covered = lua_newuserdata(L, len); /* collected, even if we raise */
  memset(covered, 0, len);
  for (i = 0; i < count; i++)
    if (secrets[i] != NULL) mark(text, len, secrets[i], lens[i], covered);
  for (i = 0; i < len && !any; i++) any = covered[i];
  if (!any) {
    lua_pop(L, 1);
    return 0;
  }
  luaL_buffinit(L, &out);
  for (i = 0; i < len;) {
    if (covered[i]) {
      luaL_addstring(&out, "<redacted>");
      while (i < len && covered[i]) i++;
    } else {
      luaL_addchar(&out, text[i]);
      i++;
    }
  }
  luaL_pushresult(&out);
  lua_remove(L, -2); /* the marks */
  return 1;
}

void sfn_redact_fields(lua_State *L, int idx, const char *const *secrets,
                       const size_t *lens, size_t count) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 6, "sfn redact");
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    size_t len;
    const char *text;
    if (lua_type(L, -1) == LUA_TSTRING && lua_type(L, -2) == LUA_TSTRING) {
      text = lua_tolstring(L, -1, &len);
      if (sfn_redact_push(L, text, len, secrets, lens, count)) {
        /* an existing key gets a new value: lua_next stays valid */
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, idx);
      }
    }
    lua_pop(L, 1);
  }
}

#define MAX_SECRETS 8

/** Redacts secrets, and fragments of them, from a text.
 * @function redact_text
 * @tparam string text
 * @tparam table secrets array of strings (others are skipped)
 * @treturn string */
static int l_redact_text(lua_State *L) {
  const char *secrets[MAX_SECRETS];
  size_t lens[MAX_SECRETS], n = 0, len;
  const char *text = luaL_checklstring(L, 1, &len);
  int i;
  luaL_checktype(L, 2, LUA_TTABLE);
  for (i = 1; i <= MAX_SECRETS; i++) {
    lua_rawgeti(L, 2, i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      secrets[n] = lua_tolstring(L, -1, &lens[n]);
      n++;
    }
    lua_pop(L, 1); /* anchored by the table */
  }
  if (!sfn_redact_push(L, text, len, secrets, lens, n)) lua_settop(L, 1);
  return 1;
}

void sfn_redact_open(lua_State *L) {
  lua_pushcfunction(L, l_redact_text);
  lua_setfield(L, -2, "redact_text");
}

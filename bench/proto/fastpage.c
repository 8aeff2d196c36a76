/* A prototype of the decoder the benchmarks recommend for src/reply.c: one
 * pass over a 2xx ListMapRuns body straight into Lua tables, no cJSON tree.
 *
 * It is a fast path, not a second decoder: it takes only the plain shape
 * real replies have, and gives up (returns 0, stack as it found it) on
 * anything else, leaving the body to the existing cJSON path, which then
 * produces exactly today's page or today's error message. It gives up on:
 *   - any string holding a backslash or a byte below 0x20 (escapes, NUL);
 *   - numbers outside the exact fast path (more than 19 significant digits,
 *     more than 22 fraction digits, an exponent, a leading zero, above 2^53
 *     as an integer mantissa), so every number it takes is the correctly
 *     rounded double strtod (and so cJSON) would give: m / 10^k with
 *     m <= 2^53 and k <= 22 is one correctly rounded IEEE division;
 *   - duplicate keys ("first one wins" is cJSON's rule; it is rare enough
 *     to leave to cJSON), unknown keys holding escapes, nesting deeper
 *     than 32 in unknown values, a UTF-8 BOM, whitespace other than JSON's
 *     four characters, anything after the value;
 *   - a missing or mistyped field (the error message is cJSON path's job).
 * What it takes, cJSON takes too, with the same values, so the page is the
 * same table either way.
 *
 * keys: stack index of the eight key strings reply.c pushes, in its order:
 * executionArn, mapRunArn, stateMachineArn, startDate, stopDate, mapRuns,
 * nextToken, ResponseMetadata. On success pushes the page table holding
 * mapRuns and nextToken (the caller adds ResponseMetadata) and returns 1.
 *
 * Built two ways by `make bench-proto`: as the standalone Lua module
 * `fastpage` (fastpage.decode(body) -> page or nil) for the decode bench,
 * and compiled into a copy of src/ with reply.c calling it first, for the
 * per-call bench. */
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <string.h>

enum { F_EXEC, F_MAPRUN, F_SM, F_START, F_STOP, F_MAPRUNS, F_TOKEN, F_META };

typedef struct cur {
  const char *p, *end;
} cur;

static const double pow10_tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                     1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
                                     1e18, 1e19, 1e20, 1e21, 1e22};

static inline void ws(cur *c) {
  while (c->p < c->end &&
         (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
    c->p++;
}

static inline int eat(cur *c, char ch) {
  ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* The first byte in [p, end) that is '"', '\\' or below 0x20, or end: eight
 * bytes at a time (the "has zero byte" bit tricks, exact as a yes/no), then
 * bytewise inside the word that has one. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline const unsigned char *scan_plain(const unsigned char *p,
                                              const unsigned char *end) {
  while (end - p >= 8) {
    uint64_t x, q, b;
    memcpy(&x, p, 8);
    q = x ^ (ONES * '"');
    b = x ^ (ONES * '\\');
    if ((((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x)) &
        HIGHS)
      break;
    p += 8;
  }
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20) p++;
  return p;
}

/* A string without escapes or control bytes: 1 with s/len set, else 0. */
static inline int plain_string(cur *c, const char **s, size_t *len) {
  const unsigned char *b, *q;
  ws(c);
  if (c->p >= c->end || *c->p != '"') return 0;
  b = (const unsigned char *)c->p + 1;
  q = scan_plain(b, (const unsigned char *)c->end);
  if (q == (const unsigned char *)c->end || *q != '"') return 0;
  *s = (const char *)b;
  *len = (size_t)(q - b);
  c->p = (const char *)q + 1;
  return 1;
}

static inline int delimiter(char ch) {
  return ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\n' ||
         ch == '\r' || ch == '\t';
}

/* A number on the exact fast path, else 0. */
static inline int fast_number(cur *c, double *out) {
  const char *p, *e = c->end, *start;
  uint64_t m = 0;
  int digits = 0, frac = 0, neg = 0;
  double v;
  ws(c);
  p = start = c->p;
  if (p < e && *p == '-') neg = 1, p++;
  if (p >= e || *p < '0' || *p > '9') return 0;
  if (*p == '0') {
    p++;
    if (p < e && *p >= '0' && *p <= '9') return 0;
  } else {
    while (p < e && *p >= '0' && *p <= '9') {
      if (++digits > 19) return 0;
      m = m * 10 + (uint64_t)(*p++ - '0');
    }
  }
  if (p < e && *p == '.') {
    p++;
    if (p >= e || *p < '0' || *p > '9') return 0;
    while (p < e && *p >= '0' && *p <= '9') {
      if (++digits > 19 || ++frac > 22) return 0;
      m = m * 10 + (uint64_t)(*p++ - '0');
    }
  }
  if (p < e && !delimiter(*p)) return 0; /* exponent, junk: not ours */
  if (p - start > 63 || m > ((uint64_t)1 << 53)) return 0;
  v = (double)m;
  if (frac > 0) v /= pow10_tab[frac];
  *out = neg ? -v : v;
  c->p = p;
  return 1;
}

/* Skips one value of an unknown key; 0 to give up. */
static int skip_value(cur *c, int depth) {
  const char *s;
  size_t n;
  double d;
  ws(c);
  if (c->p >= c->end || depth > 32) return 0;
  switch (*c->p) {
    case '"':
      return plain_string(c, &s, &n);
    case '{':
      c->p++;
      if (eat(c, '}')) return 1;
      do {
        if (!plain_string(c, &s, &n) || !eat(c, ':') ||
            !skip_value(c, depth + 1))
          return 0;
      } while (eat(c, ','));
      return eat(c, '}');
    case '[':
      c->p++;
      if (eat(c, ']')) return 1;
      do {
        if (!skip_value(c, depth + 1)) return 0;
      } while (eat(c, ','));
      return eat(c, ']');
    case 't':
      if (c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) {
        c->p += 4;
        return 1;
      }
      return 0;
    case 'f':
      if (c->end - c->p >= 5 && memcmp(c->p, "false", 5) == 0) {
        c->p += 5;
        return 1;
      }
      return 0;
    case 'n':
      if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
        c->p += 4;
        return 1;
      }
      return 0;
    default:
      return fast_number(c, &d);
  }
}

static inline int is_null(cur *c) {
  ws(c);
  if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
    c->p += 4;
    return 1;
  }
  return 0;
}

/* Which field a key names: 0..4 an item field, 5 mapRuns, 6 nextToken,
 * -1 another key. */
static inline int key_id(const char *s, size_t n) {
  switch (n) {
    case 7:
      return memcmp(s, "mapRuns", 7) == 0 ? F_MAPRUNS : -1;
    case 8:
      return memcmp(s, "stopDate", 8) == 0 ? F_STOP : -1;
    case 9:
      if (memcmp(s, "mapRunArn", 9) == 0) return F_MAPRUN;
      if (memcmp(s, "startDate", 9) == 0) return F_START;
      if (memcmp(s, "nextToken", 9) == 0) return F_TOKEN;
      return -1;
    case 12:
      return memcmp(s, "executionArn", 12) == 0 ? F_EXEC : -1;
    case 15:
      return memcmp(s, "stateMachineArn", 15) == 0 ? F_SM : -1;
    default:
      return -1;
  }
}

/* The last executionArn and stateMachineArn made into Lua strings, kept in
 * two stack slots (recent, recent + 1): every Map Run of a page has the same
 * executionArn, and runs of one Map state share the stateMachineArn, so an
 * equal value reuses the string instead of allocating (and later
 * collecting) another copy. A Lua string is a value: the page is the same. */
typedef struct recent {
  int idx;
  const char *s[2];
  size_t n[2];
} recent;

static inline void push_field_string(lua_State *L, recent *r, int slot,
                                     const char *s, size_t n) {
  if (r->s[slot] != NULL && r->n[slot] == n && memcmp(r->s[slot], s, n) == 0) {
    lua_pushvalue(L, r->idx + slot);
    return;
  }
  lua_pushlstring(L, s, n);
  lua_pushvalue(L, -1);
  lua_replace(L, r->idx + slot);
  r->s[slot] = lua_tolstring(L, r->idx + slot, &r->n[slot]);
}

/* Parses one item into a new table on top of the stack; 0 to give up (the
 * caller resets the stack). */
static int item(lua_State *L, cur *c, int keys, recent *r) {
  unsigned seen = 0;
  const char *s;
  size_t n;
  double d;
  if (!eat(c, '{')) return 0;
  lua_createtable(L, 0, 5);
  if (eat(c, '}')) return 0; /* no fields: an error for the slow path */
  do {
    int k;
    if (!plain_string(c, &s, &n) || !eat(c, ':')) return 0;
    k = key_id(s, n);
    if (k < 0 || k > F_STOP) {
      if (!skip_value(c, 1)) return 0;
      continue;
    }
    if (seen & (1u << k)) return 0;
    seen |= 1u << k;
    if (k <= F_SM) {
      if (!plain_string(c, &s, &n)) return 0;
      lua_pushvalue(L, keys + k);
      if (k == F_MAPRUN)
        lua_pushlstring(L, s, n);
      else
        push_field_string(L, r, k == F_EXEC ? 0 : 1, s, n);
      lua_rawset(L, -3);
    } else if (k == F_STOP && is_null(c)) {
      /* running: no stopDate */
    } else {
      if (!fast_number(c, &d)) return 0;
      lua_pushvalue(L, keys + k);
      lua_pushnumber(L, (lua_Number)d);
      lua_rawset(L, -3);
    }
  } while (eat(c, ','));
  if (!eat(c, '}')) return 0;
  return (seen & 0xF) == 0xF; /* executionArn .. startDate present */
}

static int page(lua_State *L, const char *body, size_t len, int keys) {
  cur c;
  int got_runs = 0, got_token = 0;
  const char *s;
  size_t n;
  recent r;
  c.p = body;
  c.end = body + len;
  luaL_checkstack(L, 10, "sfn fast page");
  memset(&r, 0, sizeof r);
  lua_pushnil(L);
  lua_pushnil(L);
  r.idx = lua_gettop(L) - 1;
  lua_createtable(L, 0, 3); /* the page */
  if (!eat(&c, '{')) return 0;
  if (eat(&c, '}')) return 0; /* no mapRuns: the slow path's error */
  do {
    int k;
    if (!plain_string(&c, &s, &n) || !eat(&c, ':')) return 0;
    k = key_id(s, n);
    if (k == F_MAPRUNS) {
      int i = 0;
      if (got_runs++) return 0;
      if (!eat(&c, '[')) return 0;
      lua_pushvalue(L, keys + F_MAPRUNS);
      lua_createtable(L, 0, 0);
      if (!eat(&c, ']')) {
        do {
          if (!item(L, &c, keys, &r)) return 0;
          lua_rawseti(L, -2, ++i);
        } while (eat(&c, ','));
        if (!eat(&c, ']')) return 0;
      }
      lua_rawset(L, -3);
    } else if (k == F_TOKEN) {
      if (got_token++) return 0;
      if (is_null(&c)) continue;
      if (!plain_string(&c, &s, &n)) return 0;
      if (n > 0) { /* an empty token ends pagination, as in reply.c */
        lua_pushvalue(L, keys + F_TOKEN);
        lua_pushlstring(L, s, n);
        lua_rawset(L, -3);
      }
    } else if (!skip_value(&c, 1)) {
      return 0;
    }
  } while (eat(&c, ','));
  if (!eat(&c, '}')) return 0;
  ws(&c);
  return got_runs && c.p == c.end;
}

int sfn_fast_page(lua_State *L, const char *body, size_t len, int keys);

int sfn_fast_page(lua_State *L, const char *body, size_t len, int keys) {
  int top = lua_gettop(L);
  if (page(L, body, len, keys)) {
    lua_replace(L, top + 1); /* the page, over the first "recent" slot */
    lua_settop(L, top + 1);
    return 1;
  }
  lua_settop(L, top);
  return 0;
}

#ifdef FASTPAGE_MODULE
/* fastpage.decode(body) -> the page (with ResponseMetadata, as
 * core.decode_reply makes it) or nil where the slow path would be taken. */
static const char *const key_names[] = {
    "executionArn", "mapRunArn", "stateMachineArn", "startDate",
    "stopDate",     "mapRuns",   "nextToken",       "ResponseMetadata"};

static int l_decode(lua_State *L) {
  size_t len;
  const char *body = luaL_checklstring(L, 1, &len);
  int keys, k;
  lua_settop(L, 1);
  luaL_checkstack(L, 16, "fastpage");
  keys = lua_gettop(L) + 1;
  for (k = 0; k < 8; k++) lua_pushstring(L, key_names[k]);
  if (!sfn_fast_page(L, body, len, keys)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushvalue(L, keys + F_META);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, "9b1f6a3e-5c2d-4e8f-a1b0-3c4d5e6f7a8b");
  lua_setfield(L, -2, "RequestId");
  lua_pushinteger(L, 200);
  lua_setfield(L, -2, "HTTPStatusCode");
  lua_pushinteger(L, 0);
  lua_setfield(L, -2, "RetryAttempts");
  lua_rawset(L, -3);
  return 1;
}

int luaopen_fastpage(lua_State *L);

int luaopen_fastpage(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_decode);
  lua_setfield(L, -2, "decode");
  return 1;
}
#endif

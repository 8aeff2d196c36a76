/* Writing JSON text (see json.h): the string escaper, ISO 8601 dates and the
 * AWS CLI's indented objects. One pass over each string; output goes to a
 * buffer on the C stack that moves into a userdata (owned by Lua, so a
 * raise cannot leak it) when it outgrows that. */
/*** @module sfn.core */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "token.h"

/* The escape letter of each ASCII byte ('u': \u00XX), 0 when it passes. */
static const char ESCAPE[128] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
};

/* Whether any of the 8 bytes at p is below 0x20, '"', '\\' or above 0x7F
 * (bit tricks over a 64-bit word: "has a zero byte", "has a byte < n"). */
static int needs_care(const unsigned char *p) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t x, q, b;
  memcpy(&x, p, 8);
  q = x ^ (ones * '"');
  b = x ^ (ones * '\\');
  return (((x - ones * 0x20) | (q - ones) | (b - ones) | x) & highs) != 0;
}

size_t sfn_json_escape(char *out, const char *s, size_t *pos, size_t limit,
                       size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = *pos, o = 0;
  while (i < limit) {
    unsigned c = u[i];
    if (c < 0x80) {
      char e = ESCAPE[c];
      if (e == 0) {
        size_t j = i + 1;
        while (j + 8 <= limit && !needs_care(u + j)) j += 8;
        while (j < limit && u[j] < 0x80 && ESCAPE[u[j]] == 0) j++;
        memcpy(out + o, u + i, j - i);
        o += j - i;
        i = j;
        continue;
      }
      out[o++] = '\\';
      if (e == 'u') {
        out[o++] = 'u';
        out[o++] = '0';
        out[o++] = '0';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
      } else {
        out[o++] = e;
      }
      i++;
    } else {
      unsigned long cp;
      size_t size = sfn_utf8_next(u + i, u + n, &cp);
      if (size > 0) {
        memcpy(out + o, u + i, size);
        o += size;
        i += size;
      } else {
        out[o++] = (char)0xEF; /* U+FFFD */
        out[o++] = (char)0xBF;
        out[o++] = (char)0xBD;
        i++;
      }
    }
  }
  *pos = i;
  return o;
}

/* Input bytes escaped per step: the output of one step is at most
 * SFN_JSON_ESCAPE_MAX times this. */
#define ESCAPE_STEP 512

void sfn_json_add_string(luaL_Buffer *b, const char *s, size_t n) {
  size_t pos = 0;
  luaL_addchar(b, '"');
  while (pos < n) {
    /* luaL_prepbuffer: LUAL_BUFFERSIZE bytes (5.1 has no prepbuffsize) */
    size_t step = LUAL_BUFFERSIZE / SFN_JSON_ESCAPE_MAX;
    size_t limit = n - pos > step ? pos + step : n;
    char *p = luaL_prepbuffer(b);
    luaL_addsize(b, sfn_json_escape(p, s, &pos, limit, n));
  }
  luaL_addchar(b, '"');
}

/* ---- ISO 8601 ---------------------------------------------------------- */

/* The first second formatted (0001-01-01T00:00:00Z) and the first one not
 * (10000-01-01T00:00:00Z): ISO 8601 and Python's datetime stop at 9999. */
#define ISO_MIN (-62135596800.0)
#define ISO_MAX 253402300800.0
#define ISO_RANGE "(-62135596800 .. 253402300799 seconds)"

/* "00" to "99". */
static const char DIGITS2[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static void put2(char *out, unsigned v) {
  memcpy(out, DIGITS2 + 2 * v, 2);
}

int sfn_json_iso8601(double t, char out[25]) {
  double seconds;
  long long secs, millis;
  unsigned long long since1;
  unsigned z, era, doe, yoe, doy, mp, d, m, y, rem;
  if (!(t >= ISO_MIN && t < ISO_MAX)) return 0;
  seconds = (double)(long long)t; /* floor: |t| < 2^53 here */
  if (seconds > t) seconds -= 1;
  millis = (long long)((t - seconds) * 1000 + 0.5); /* >= 0.5: truncation floors */
  secs = (long long)seconds;
  if (millis >= 1000) {
    secs += 1;
    millis = 0;
  }
  if (secs >= (long long)ISO_MAX) return 0;
  since1 = (unsigned long long)(secs - (long long)ISO_MIN); /* from 0001-01-01 */
  rem = (unsigned)(since1 % 86400);
  /* civil_from_days (Howard Hinnant), proleptic Gregorian, from the day
   * number counted from 0000-03-01: 0001-01-01 is day 306 */
  z = (unsigned)(since1 / 86400) + 306;
  era = z / 146097;
  doe = z - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = yoe + era * 400 + (m <= 2);
  put2(out, y / 100);
  put2(out + 2, y % 100);
  out[4] = '-';
  put2(out + 5, m);
  out[7] = '-';
  put2(out + 8, d);
  out[10] = 'T';
  put2(out + 11, rem / 3600);
  out[13] = ':';
  put2(out + 14, rem / 60 % 60);
  out[16] = ':';
  put2(out + 17, rem % 60);
  out[19] = '.';
  out[20] = (char)('0' + millis / 100);
  put2(out + 21, (unsigned)(millis % 100));
  out[23] = 'Z';
  out[24] = '\0';
  return 1;
}

/* Raises the ValidationError of a value iso8601 cannot format. */
static int iso8601_fail(lua_State *L, int idx) {
  lua_Number t;
  if (lua_type(L, idx) != LUA_TNUMBER)
    return sfn_error_raisef(L, "ValidationError",
                            "iso8601: expected a finite number, got %s",
                            luaL_typename(L, idx));
  t = lua_tonumber(L, idx);
  lua_pushvalue(L, idx); /* tostring(t): lua_tostring formats it the same */
  lua_tostring(L, -1);
  if (t != t || t == HUGE_VAL || t == -HUGE_VAL)
    return sfn_error_raisef(L, "ValidationError",
                            "iso8601: expected a finite number, got %s",
                            lua_tostring(L, -1));
  return sfn_error_raisef(L, "ValidationError",
                          "iso8601: %s is outside years 0001..9999 " ISO_RANGE,
                          lua_tostring(L, -1));
}

/* ---- the output buffer ------------------------------------------------- */

typedef struct writer {
  lua_State *L;
  char *p;    /* local, or the userdata at slot */
  size_t len;
  size_t cap;
  int slot;   /* stack index that holds the userdata once there is one */
  char local[2048];
} writer;

static void writer_init(writer *w, lua_State *L, int slot) {
  w->L = L;
  w->p = w->local;
  w->len = 0;
  w->cap = sizeof w->local;
  w->slot = slot;
}

/* Makes room for extra more bytes; may raise (memory), which frees nothing
 * by hand: the old buffer is the C stack or garbage. */
static void writer_grow(writer *w, size_t extra) {
  size_t cap = w->cap;
  char *p;
  if (extra > (size_t)-1 / 2 - w->len)
    sfn_error_raisef(w->L, "ValidationError", "json: the text is too large");
  while (cap - w->len < extra) cap *= 2;
  p = lua_newuserdata(w->L, cap);
  memcpy(p, w->p, w->len);
  lua_replace(w->L, w->slot);
  w->p = p;
  w->cap = cap;
}

static inline void writer_reserve(writer *w, size_t extra) {
  if (extra > w->cap - w->len) writer_grow(w, extra);
}

static void writer_add(writer *w, const char *s, size_t n) {
  writer_reserve(w, n);
  memcpy(w->p + w->len, s, n);
  w->len += n;
}

#define writer_literal(w, s) writer_add((w), "" s, sizeof(s) - 1)

static void writer_pad(writer *w, lua_Integer depth) {
  size_t n = depth > 0 ? (size_t)depth * 4 : 0;
  writer_reserve(w, n);
  memset(w->p + w->len, ' ', n);
  w->len += n;
}

/* Adds s as a JSON string literal. */
static void writer_string(writer *w, const char *s, size_t n) {
  size_t pos = 0;
  writer_reserve(w, 2);
  w->p[w->len++] = '"';
  while (pos < n) {
    size_t limit = n - pos > ESCAPE_STEP ? pos + ESCAPE_STEP : n;
    writer_reserve(w, (limit - pos) * SFN_JSON_ESCAPE_MAX + 1);
    w->len += sfn_json_escape(w->p + w->len, s, &pos, limit, n);
  }
  writer_reserve(w, 1);
  w->p[w->len++] = '"';
}

/* ---- objects as the AWS CLI prints them -------------------------------- */

/* Nesting levels json_object follows (its counts are one level down). */
#define OBJECT_LEVELS 32

typedef struct object_spec {
  int nested; /* stack index of the keys of nested objects, 0: none */
  int floats; /* stack index of the set of float members, 0: none */
} object_spec;

/* Adds a number as Python's json.dumps prints what botocore parsed: whole
 * numbers below 2^53 without a fraction, others with 17 digits, non-finite
 * ones as null. Returns whether the text has ".", "e" or "n" (null). */
static int writer_number(writer *w, lua_Number v) {
  char num[40];
  int n;
  if (v != v || v == HUGE_VAL || v == -HUGE_VAL) {
    writer_literal(w, "null");
    return 1;
  }
  if (v == floor(v) && v > -9007199254740992.0 && v < 9007199254740992.0) {
    long long i = (long long)v;
    unsigned long long u = i < 0 ? (unsigned long long)-i : (unsigned long long)i;
    char *end = num + sizeof num, *p = end;
    do {
      *--p = (char)('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (i < 0) *--p = '-';
    writer_add(w, p, (size_t)(end - p));
    return 0;
  }
  n = snprintf(num, sizeof num, "%.17g", (double)v);
  writer_add(w, num, (size_t)n);
  return strpbrk(num, ".en") != NULL;
}

static int ends_with_date(const char *key, size_t n) {
  return n >= 4 && memcmp(key + n - 4, "Date", 4) == 0;
}

/* Writes the table at obj with the member names in the list at keys. */
static void write_object(writer *w, int obj, int keys, lua_Integer depth,
                         const object_spec *spec, int level, int pad_first) {
  lua_State *L = w->L;
  size_t i, count = lua_rawlen(L, keys), written = 0;
  if (level > OBJECT_LEVELS)
    sfn_error_raisef(L, "ValidationError",
                     "json_object: objects nested deeper than %d levels",
                     OBJECT_LEVELS);
  luaL_checkstack(L, 4, "sfn json_object");
  for (i = 1; i <= count; i++) {
    size_t key_len;
    const char *key;
    int t;
    lua_rawgeti(L, keys, (lua_Integer)i);
    if (lua_type(L, -1) != LUA_TSTRING)
      sfn_error_raisef(L, "ValidationError",
                       "json_object: key %d is a %s, not a string", (int)i,
                       luaL_typename(L, -1));
    key = lua_tolstring(L, -1, &key_len);
    lua_pushvalue(L, -1);
    lua_gettable(L, obj);
    t = lua_type(L, -1);
    if (t == LUA_TNIL) {
      lua_pop(L, 2);
      continue;
    }
    if (written++ == 0) {
      if (pad_first) writer_pad(w, depth);
      writer_literal(w, "{\n");
    } else {
      writer_literal(w, ",\n");
    }
    writer_pad(w, depth + 1);
    writer_reserve(w, key_len + 4);
    w->p[w->len++] = '"';
    memcpy(w->p + w->len, key, key_len);
    w->len += key_len;
    memcpy(w->p + w->len, "\": ", 3);
    w->len += 3;
    if (t == LUA_TSTRING) {
      size_t n;
      const char *s = lua_tolstring(L, -1, &n);
      writer_string(w, s, n);
    } else if (t == LUA_TNUMBER) {
      lua_Number v = lua_tonumber(L, -1);
      if (ends_with_date(key, key_len)) {
        char iso[25];
        if (!sfn_json_iso8601(v, iso)) iso8601_fail(L, lua_gettop(L));
        writer_reserve(w, 26);
        w->p[w->len++] = '"';
        memcpy(w->p + w->len, iso, 24);
        w->len += 24;
        w->p[w->len++] = '"';
      } else if (!writer_number(w, v) && spec->floats != 0) {
        lua_pushvalue(L, -2);
        lua_gettable(L, spec->floats);
        if (lua_toboolean(L, -1)) writer_literal(w, ".0");
        lua_pop(L, 1);
      }
    } else if (t == LUA_TBOOLEAN) {
      if (lua_toboolean(L, -1)) writer_literal(w, "true");
      else writer_literal(w, "false");
    } else if (t == LUA_TTABLE && spec->nested != 0) {
      write_object(w, lua_gettop(L), spec->nested, depth + 1, spec, level + 1, 0);
    } else {
      writer_literal(w, "null");
    }
    lua_pop(L, 2);
  }
  if (written == 0) {
    if (pad_first) writer_pad(w, depth);
    writer_literal(w, "{}");
  } else {
    writer_literal(w, "\n");
    writer_pad(w, depth);
    writer_literal(w, "}");
  }
}

/***
 * A string as a JSON string literal, escaped as Python's
 * `json.dumps(s, ensure_ascii=False)` does (the AWS CLI's output): `"` and
 * `\` escaped, `\b \f \n \r \t`, other bytes below 0x20 as `\u00XX`,
 * UTF-8 passed through, each byte that is not part of well-formed UTF-8 as
 * U+FFFD (so the result is always valid JSON). One pass over `s`.
 * @function json_string
 * @tparam string s any bytes, NULs included
 * @treturn string the literal, quotes included
 * @raise ValidationError when `s` is not a string
 * @usage core.json_string('say "hi"\n') --> "say \"hi\"\n" (quoted)
 */
static int l_json_string(lua_State *L) {
  size_t n;
  const char *s;
  writer w;
  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError",
                            "json_string: expected a string, got %s",
                            luaL_typename(L, 1));
  s = lua_tolstring(L, 1, &n);
  lua_settop(L, 1);
  lua_pushnil(L); /* 2: the buffer, once it outgrows w.local */
  writer_init(&w, L, 2);
  writer_string(&w, s, n);
  lua_pushlstring(L, w.p, w.len);
  return 1;
}

/***
 * A string with each byte that is not part of well-formed UTF-8 replaced by
 * U+FFFD (the rule `json_string` applies), for text output.
 * @function valid_utf8
 * @tparam string s any bytes
 * @treturn string s itself when it is well-formed
 * @raise ValidationError when `s` is not a string
 */
static int l_valid_utf8(lua_State *L) {
  size_t n, i = 0, size;
  unsigned long cp;
  const unsigned char *s;
  luaL_Buffer b;
  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError",
                            "valid_utf8: expected a string, got %s",
                            luaL_typename(L, 1));
  s = (const unsigned char *)lua_tolstring(L, 1, &n);
  if (sfn_token_utf8_valid((const char *)s, n)) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_buffinit(L, &b);
  while (i < n) {
    size = sfn_utf8_next(s + i, s + n, &cp);
    if (size > 0) {
      luaL_addlstring(&b, (const char *)s + i, size);
      i += size;
    } else {
      luaL_addlstring(&b, "\357\277\275", 3); /* U+FFFD */
      i++;
    }
  }
  luaL_pushresult(&b);
  return 1;
}

/***
 * A table as the AWS CLI prints an object: 4-space indentation from `depth`
 * levels, the members named in `keys` in that order (absent ones left out,
 * others never written), strings escaped as by `json_string`, numbers in
 * members whose name ends in `Date` as ISO 8601 strings (`iso8601`), other
 * whole numbers below 2^53 without a fraction, others with 17 significant
 * digits, NaN and infinities as `null`, booleans as such, tables as objects
 * with `nested_keys` (as `null` without them), anything else as `null`.
 * @function json_object
 * @tparam table obj e.g. a Map Run
 * @tparam table keys member names, in order
 * @tparam[opt=0] integer depth nesting level of the object
 * @tparam[opt] table nested_keys member names of nested objects
 * @tparam[opt] table float_keys set of members written as floats (`5.0`)
 * @treturn string no leading newline or trailing newline; `{}` when no
 *   member is present
 * @raise ValidationError for a wrong argument type, a key that is not a
 *   string, a date `iso8601` cannot format, or objects nested deeper than
 *   32 levels
 * @usage io.write(core.json_object(run, { "mapRunArn", "startDate" }, 2))
 */
static int l_json_object(lua_State *L) {
  object_spec spec;
  lua_Integer depth;
  writer w;
  if (lua_type(L, 1) != LUA_TTABLE || lua_type(L, 2) != LUA_TTABLE ||
      (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TNUMBER) ||
      (!lua_isnoneornil(L, 4) && lua_type(L, 4) != LUA_TTABLE) ||
      (!lua_isnoneornil(L, 5) && lua_type(L, 5) != LUA_TTABLE))
    return sfn_error_raisef(
        L, "ValidationError",
        "json_object: expected (table, table, [number], [table], [table]), "
        "got (%s, %s, %s, %s, %s)",
        luaL_typename(L, 1), luaL_typename(L, 2), luaL_typename(L, 3),
        luaL_typename(L, 4), luaL_typename(L, 5));
  depth = lua_type(L, 3) == LUA_TNUMBER ? (lua_Integer)lua_tonumber(L, 3) : 0;
  if (depth < 0) depth = 0; /* ("    "):rep(-1) is "" */
  if (depth > 1000)
    return sfn_error_raisef(L, "ValidationError",
                            "json_object: depth %d is above 1000",
                            depth > 1000000 ? 1000000 : (int)depth);
  spec.nested = lua_type(L, 4) == LUA_TTABLE ? 4 : 0;
  spec.floats = lua_type(L, 5) == LUA_TTABLE ? 5 : 0;
  lua_settop(L, 5);
  lua_pushnil(L); /* 6: the buffer, once it outgrows w.local */
  writer_init(&w, L, 6);
  write_object(&w, 1, 2, depth, &spec, 0, 1);
  lua_pushlstring(L, w.p, w.len);
  return 1;
}

/***
 * Epoch seconds as ISO 8601 UTC with milliseconds (rounded to the nearest
 * millisecond), as the AWS CLI prints dates.
 * @function iso8601
 * @tparam number t seconds since the Unix epoch
 * @treturn string e.g. "2023-11-14T22:13:20.125Z"
 * @raise ValidationError when t is not a number, not finite, or outside
 *   years 0001..9999
 */
static int l_iso8601(lua_State *L) {
  char iso[25];
  if (lua_type(L, 1) != LUA_TNUMBER || !sfn_json_iso8601(lua_tonumber(L, 1), iso))
    return iso8601_fail(L, 1);
  lua_pushlstring(L, iso, 24);
  return 1;
}

void sfn_json_open(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"json_string", l_json_string},
      {"json_object", l_json_object},
      {"valid_utf8", l_valid_utf8},
      {"iso8601", l_iso8601},
      {NULL, NULL},
  };
  luaL_setfuncs(L, fns, 0);
  /* iso8601's range, for sfn.time.MIN and MAX */
  lua_pushinteger(L, (lua_Integer)ISO_MIN);
  lua_setfield(L, -2, "ISO8601_MIN");
  lua_pushinteger(L, (lua_Integer)ISO_MAX);
  lua_setfield(L, -2, "ISO8601_MAX");
}

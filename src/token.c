/* Resume tokens byte-compatible with botocore (botocore/paginate.py):
 * TokenEncoder.encode is base64(json.dumps(dict)) with json.dumps' default
 * separators and ensure_ascii escaping; _parse_starting_token decodes with
 * base64.b64decode (non-strict), strict UTF-8 and json.loads, and falls back
 * to _parse_starting_token_deprecated ("token___index") when that fails.
 *
 * Our schema is stricter than botocore's dict: the JSON object must hold
 * nextToken (string or null) and at most boto_truncate_amount (a
 * non-negative integer); anything else falls back to the deprecated form.
 * Known, deliberate differences from botocore (none reachable from a token
 * botocore produced): NaN/Infinity literals and lone UTF-16 surrogates make
 * the JSON unreadable (fallback), as does a \u0000 escape anywhere; a
 * deprecated index counts ASCII digits only and a negative one is refused. */
#include "token.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

#define JSON_MAX_DEPTH 1000 /* as cJSON's CJSON_NESTING_LIMIT */

/* ---- UTF-8 ------------------------------------------------------------ */

size_t sfn_utf8_next(const unsigned char *p, const unsigned char *end,
                     unsigned long *cp) {
  unsigned long c = p[0], min;
  size_t n, i;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) n = 1, c &= 0x1F, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 2, c &= 0x0F, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 3, c &= 0x07, min = 0x10000;
  else return 0;
  if ((size_t)(end - p) <= n) return 0;
  for (i = 1; i <= n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (p[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return n + 1;
}

int sfn_token_utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  unsigned long cp;
  while (p < end) {
    size_t n = sfn_utf8_next(p, end, &cp);
    if (n == 0) return 0;
    p += n;
  }
  return 1;
}

/* ---- encoding --------------------------------------------------------- */

static void add_u_escape(luaL_Buffer *b, unsigned long u) {
  static const char hex[] = "0123456789abcdef"; /* Python writes lowercase */
  char e[6];
  e[0] = '\\';
  e[1] = 'u';
  e[2] = hex[(u >> 12) & 0xF];
  e[3] = hex[(u >> 8) & 0xF];
  e[4] = hex[(u >> 4) & 0xF];
  e[5] = hex[u & 0xF];
  luaL_addlstring(b, e, sizeof e);
}

/* A JSON string as json.dumps(ensure_ascii=True) writes it: printable ASCII
 * other than '"' and '\\' as is; \" \\ \b \f \n \r \t; everything else,
 * DEL included, as \uXXXX, with a surrogate pair above U+FFFF. */
static void add_json_string(luaL_Buffer *b, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  luaL_addchar(b, '"');
  while (p < end) {
    unsigned long cp;
    size_t n = sfn_utf8_next(p, end, &cp);
    if (n == 0) { /* callers check; never emit invalid JSON regardless */
      cp = 0xFFFD;
      n = 1;
    }
    p += n;
    switch (cp) {
    case '"': luaL_addstring(b, "\\\""); break;
    case '\\': luaL_addstring(b, "\\\\"); break;
    case '\b': luaL_addstring(b, "\\b"); break;
    case '\f': luaL_addstring(b, "\\f"); break;
    case '\n': luaL_addstring(b, "\\n"); break;
    case '\r': luaL_addstring(b, "\\r"); break;
    case '\t': luaL_addstring(b, "\\t"); break;
    default:
      if (cp >= 0x20 && cp <= 0x7E) {
        luaL_addchar(b, (char)cp);
      } else if (cp >= 0x10000) {
        cp -= 0x10000;
        add_u_escape(b, 0xD800 | (cp >> 10));
        add_u_escape(b, 0xDC00 | (cp & 0x3FF));
      } else {
        add_u_escape(b, cp);
      }
    }
  }
  luaL_addchar(b, '"');
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sfn_token_push_encoded(lua_State *L, const char *token, size_t len,
                            long long amount) {
  luaL_Buffer b;
  const unsigned char *json;
  size_t json_len, i;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "{\"nextToken\": ");
  if (token != NULL) add_json_string(&b, token, len);
  else luaL_addstring(&b, "null");
  if (amount >= 0) {
    char num[32];
    snprintf(num, sizeof num, "%lld", amount);
    luaL_addstring(&b, ", \"boto_truncate_amount\": ");
    luaL_addstring(&b, num);
  }
  luaL_addchar(&b, '}');
  luaL_pushresult(&b);
  json = (const unsigned char *)lua_tolstring(L, -1, &json_len);
  luaL_buffinit(L, &b); /* the JSON string stays below, reachable */
  for (i = 0; i < json_len; i += 3) {
    unsigned long v = (unsigned long)json[i] << 16;
    size_t left = json_len - i;
    char q[4];
    if (left > 1) v |= (unsigned long)json[i + 1] << 8;
    if (left > 2) v |= json[i + 2];
    q[0] = b64_alphabet[(v >> 18) & 0x3F];
    q[1] = b64_alphabet[(v >> 12) & 0x3F];
    q[2] = left > 1 ? b64_alphabet[(v >> 6) & 0x3F] : '=';
    q[3] = left > 2 ? b64_alphabet[v & 0x3F] : '=';
    luaL_addlstring(&b, q, 4);
  }
  luaL_pushresult(&b);
  lua_remove(L, -2); /* the JSON */
}

/* ---- decoding: base64 ------------------------------------------------- */

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* binascii.a2b_base64 with strict_mode=False (what base64.b64decode does by
 * default): characters outside the alphabet are skipped; a pad sequence
 * completing a quad ends the input; a dangling quad is an error. out holds
 * at least len / 4 * 3 + 3 bytes. */
static int b64_decode(const unsigned char *in, size_t len, unsigned char *out,
                      size_t *out_len) {
  int quad = 0, pads = 0;
  unsigned left = 0;
  size_t i, n = 0;
  for (i = 0; i < len; i++) {
    int v;
    if (in[i] == '=') {
      if (quad >= 2 && quad + ++pads >= 4) goto done;
      continue;
    }
    v = b64_value(in[i]);
    if (v < 0) continue;
    pads = 0;
    switch (quad) {
    case 0: left = (unsigned)v; quad = 1; break;
    case 1:
      out[n++] = (unsigned char)((left << 2) | ((unsigned)v >> 4));
      left = (unsigned)v & 0x0F;
      quad = 2;
      break;
    case 2:
      out[n++] = (unsigned char)((left << 4) | ((unsigned)v >> 2));
      left = (unsigned)v & 0x03;
      quad = 3;
      break;
    default:
      out[n++] = (unsigned char)((left << 6) | (unsigned)v);
      left = 0;
      quad = 0;
    }
  }
  if (quad != 0) return 0;
done:
  *out_len = n;
  return 1;
}

/* ---- decoding: JSON grammar as Python's json.loads reads it ----------- */

/* cJSON is laxer than Python (any byte <= 32 is whitespace, raw control
 * characters in strings, leading zeros, "-.5"), so text must first pass
 * this strict check of RFC 8259 as Python's scanner applies it. */
typedef struct jscan {
  const unsigned char *p, *end;
  int nul; /* a \u0000 escape was seen: cJSON would cut the string there */
} jscan;

static void js_ws(jscan *s) {
  while (s->p < s->end &&
         (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static int js_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int js_string(jscan *s) {
  s->p++; /* the opening quote */
  while (s->p < s->end) {
    unsigned char c = *s->p++;
    if (c == '"') return 1;
    if (c < 0x20) return 0; /* Python's strict mode: no raw controls */
    if (c != '\\') continue;
    if (s->p >= s->end) return 0;
    switch (*s->p++) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
    case 't':
      break;
    case 'u':
      if (s->end - s->p < 4 || !js_hex(s->p[0]) || !js_hex(s->p[1]) ||
          !js_hex(s->p[2]) || !js_hex(s->p[3]))
        return 0;
      if (memcmp(s->p, "0000", 4) == 0) s->nul = 1;
      s->p += 4;
      break;
    default:
      return 0;
    }
  }
  return 0;
}

static int js_digits(jscan *s) {
  const unsigned char *start = s->p;
  while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
  return s->p > start;
}

static int js_number(jscan *s) {
  if (*s->p == '-') s->p++;
  if (s->p >= s->end) return 0;
  if (*s->p == '0') s->p++;
  else if (!js_digits(s)) return 0;
  if (s->p < s->end && *s->p == '.') {
    s->p++;
    if (!js_digits(s)) return 0;
  }
  if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
    s->p++;
    if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
    if (!js_digits(s)) return 0;
  }
  return 1;
}

static int js_literal(jscan *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return 0;
  s->p += n;
  return 1;
}

static int js_value(jscan *s, int depth);

static int js_members(jscan *s, int depth, unsigned char close, int object) {
  s->p++; /* the opening bracket */
  js_ws(s);
  if (s->p < s->end && *s->p == close) {
    s->p++;
    return 1;
  }
  for (;;) {
    if (object) {
      if (s->p >= s->end || *s->p != '"' || !js_string(s)) return 0;
      js_ws(s);
      if (s->p >= s->end || *s->p != ':') return 0;
      s->p++;
      js_ws(s);
    }
    if (!js_value(s, depth + 1)) return 0;
    js_ws(s);
    if (s->p >= s->end) return 0;
    if (*s->p == close) {
      s->p++;
      return 1;
    }
    if (*s->p != ',') return 0;
    s->p++;
    js_ws(s);
  }
}

static int js_value(jscan *s, int depth) {
  if (depth > JSON_MAX_DEPTH || s->p >= s->end) return 0;
  switch (*s->p) {
  case '{': return js_members(s, depth, '}', 1);
  case '[': return js_members(s, depth, ']', 0);
  case '"': return js_string(s);
  case 't': return js_literal(s, "true");
  case 'f': return js_literal(s, "false");
  case 'n': return js_literal(s, "null");
  default:
    if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) return js_number(s);
    return 0;
  }
}

/* Whether text is one JSON value, surrounded only by whitespace, that
 * Python reads and cJSON reads the same way. */
static int json_acceptable(const unsigned char *text, size_t len) {
  jscan s;
  s.p = text;
  s.end = text + len;
  s.nul = 0;
  js_ws(&s);
  if (!js_value(&s, 0)) return 0;
  js_ws(&s);
  return s.p == s.end && !s.nul;
}

/* Reads {"nextToken": string|null [, "boto_truncate_amount": n >= 0]} with
 * cJSON (duplicate keys: the last wins, as in Python). The string is copied
 * into tok (cap bytes, longer than the text) and the tree freed before
 * returning: nothing here can raise. 1 on a match, 0 otherwise. */
static int json_token(const char *text, size_t len, char *tok, size_t cap,
                      int *has_tok, long long *amount) {
  cJSON *root = cJSON_ParseWithLength(text, len), *item;
  cJSON *tok_item = NULL, *amount_item = NULL;
  int ok = root != NULL && cJSON_IsObject(root);
  for (item = ok ? root->child : NULL; item != NULL; item = item->next) {
    if (item->string != NULL && strcmp(item->string, "nextToken") == 0)
      tok_item = item;
    else if (item->string != NULL &&
             strcmp(item->string, "boto_truncate_amount") == 0)
      amount_item = item;
    else
      ok = 0;
  }
  ok = ok && tok_item != NULL &&
       (cJSON_IsNull(tok_item) ||
        (cJSON_IsString(tok_item) && tok_item->valuestring != NULL &&
         strlen(tok_item->valuestring) < cap));
  if (ok && amount_item != NULL) {
    double d = amount_item->valuedouble;
    ok = cJSON_IsNumber(amount_item) && d >= 0 && d == floor(d);
    *amount = !ok ? 0
              : d >= (double)SFN_TOKEN_AMOUNT_MAX ? SFN_TOKEN_AMOUNT_MAX
                                                  : (long long)d;
  } else {
    *amount = 0;
  }
  if (ok) {
    *has_tok = cJSON_IsString(tok_item);
    if (*has_tok) strcpy(tok, tok_item->valuestring);
  }
  cJSON_Delete(root);
  return ok;
}

/* ---- decoding: the deprecated form ------------------------------------ */

/* Bytes of Python whitespace (str.isspace) starting at p, or 0. */
static size_t py_space_at(const unsigned char *p, const unsigned char *end) {
  size_t left = (size_t)(end - p);
  if (left == 0) return 0;
  if ((p[0] >= 0x09 && p[0] <= 0x0D) || (p[0] >= 0x1C && p[0] <= 0x20))
    return 1;
  if (left >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0)) return 2;
  if (left >= 3) {
    if (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) return 3; /* U+1680 */
    if (p[0] == 0xE2 && p[1] == 0x80 &&
        ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 ||
         p[2] == 0xAF))
      return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
    if (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) return 3; /* U+205F */
    if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return 3; /* U+3000 */
  }
  return 0;
}

/* Bytes of Python whitespace ending at end (after start), or 0. */
static size_t py_space_before(const unsigned char *start,
                              const unsigned char *end) {
  size_t n;
  for (n = 1; n <= 3 && n <= (size_t)(end - start); n++)
    if (py_space_at(end - n, end) == n) return n;
  return 0;
}

/* int(text) for ASCII digits: surrounding whitespace, a sign, single
 * underscores between digits. Large values saturate. */
static int py_int(const unsigned char *p, const unsigned char *end,
                  long long *out, int *negative) {
  size_t n;
  long long v = 0;
  while ((n = py_space_at(p, end)) > 0) p += n;
  while (end > p && (n = py_space_before(p, end)) > 0) end -= n;
  *negative = 0;
  if (p < end && (*p == '+' || *p == '-')) *negative = *p++ == '-';
  if (p >= end || *p < '0' || *p > '9') return 0;
  while (p < end) {
    if (*p == '_') {
      p++;
      if (p >= end || *p < '0' || *p > '9') return 0;
    }
    if (*p < '0' || *p > '9') return 0;
    if (v < SFN_TOKEN_AMOUNT_MAX) v = v * 10 + (*p - '0');
    if (v > SFN_TOKEN_AMOUNT_MAX) v = SFN_TOKEN_AMOUNT_MAX;
    p++;
  }
  *out = v;
  return 1;
}

/* Pushes a deprecated token part: the string, or nil for "None". */
static void push_part(lua_State *L, const char *s, size_t len) {
  if (len == 4 && memcmp(s, "None", 4) == 0) lua_pushnil(L);
  else lua_pushlstring(L, s, len);
}

static long long decode_deprecated(lua_State *L, const char *s, size_t len,
                                   const char *field) {
  size_t i = 0, parts = 1, split = 0;
  while (i + 3 <= len) { /* str.split("___"): leftmost, non-overlapping */
    if (s[i] == '_' && s[i + 1] == '_' && s[i + 2] == '_') {
      if (parts == 1) split = i;
      parts++;
      i += 3;
    } else {
      i++;
    }
  }
  if (parts > 2) /* botocore: ValueError("Bad starting token") */
    sfn_error_raisef(L, "ValidationError",
                     "%s: bad starting token (neither a token from this "
                     "library or boto3 nor a service token)", field);
  if (parts == 2) {
    const unsigned char *u = (const unsigned char *)s;
    long long amount;
    int negative;
    if (py_int(u + split + 3, u + len, &amount, &negative)) {
      if (negative && amount != 0)
        sfn_error_raisef(L, "ValidationError",
                         "%s: negative truncation amount", field);
      push_part(L, s, split);
      return amount;
    }
  }
  push_part(L, s, len);
  return 0;
}

long long sfn_token_decode_max(lua_State *L, const char *s, size_t len,
                               const char *field, size_t max) {
  size_t cap = max / 4 * 3 + 3, json_len;
  unsigned char *json;
  char *tok;
  long long amount;
  int has_tok;
  if (len > max)
    sfn_error_raisef(L, "ValidationError", "%s: longer than %d bytes", field,
                     (int)max);
  /* scratch owned by the GC: both buffers, removed before returning */
  json = lua_newuserdata(L, 2 * cap + 1);
  tok = (char *)json + cap;
  if (b64_decode((const unsigned char *)s, len, json, &json_len) &&
      sfn_token_utf8_valid((const char *)json, json_len) &&
      json_acceptable(json, json_len) &&
      json_token((const char *)json, json_len, tok, cap + 1, &has_tok,
                 &amount)) {
    if (has_tok) lua_pushstring(L, tok);
    else lua_pushnil(L);
    lua_remove(L, -2); /* the scratch */
    return amount;
  }
  lua_pop(L, 1);
  return decode_deprecated(L, s, len, field);
}

long long sfn_token_decode(lua_State *L, const char *s, size_t len,
                           const char *field) {
  return sfn_token_decode_max(L, s, len, field, SFN_TOKEN_MAX);
}

/* ---- Lua interface ---------------------------------------------------- */

/** Encodes a resume token exactly as botocore's TokenEncoder does.
 * @function encode_token
 * @tparam string|nil next_token the service token (nil: null)
 * @tparam[opt] integer truncate_amount boto_truncate_amount (nil: absent)
 * @treturn string base64 of {"nextToken": ..., "boto_truncate_amount": ...}
 * @raise ValidationError */
static int l_encode_token(lua_State *L) {
  const char *tok = NULL;
  size_t len = 0;
  long long amount = -1;
  if (!lua_isnoneornil(L, 1)) {
    if (lua_type(L, 1) != LUA_TSTRING)
      sfn_error_raisef(L, "ValidationError",
                       "next_token: expected a string or nil, got %s",
                       luaL_typename(L, 1));
    tok = lua_tolstring(L, 1, &len);
    if (!sfn_token_utf8_valid(tok, len))
      sfn_error_raisef(L, "ValidationError", "next_token: not valid UTF-8");
  }
  if (!lua_isnoneornil(L, 2)) {
    lua_Number n;
    if (lua_type(L, 2) != LUA_TNUMBER)
      sfn_error_raisef(L, "ValidationError",
                       "truncate_amount: expected an integer or nil, got %s",
                       luaL_typename(L, 2));
    n = lua_tonumber(L, 2);
    if (!(n >= 0 && n <= (lua_Number)SFN_TOKEN_AMOUNT_MAX) || n != floor(n))
      sfn_error_raisef(L, "ValidationError",
                       "truncate_amount: must be an integer in 0..2^53");
    amount = (long long)n;
  }
  lua_settop(L, 2); /* tok stays reachable at index 1 */
  sfn_token_push_encoded(L, tok, len, amount);
  return 1;
}

/** Decodes a starting token as botocore's _parse_starting_token does.
 * @function decode_token
 * @tparam string token
 * @treturn string|nil the service nextToken
 * @treturn integer the truncation amount (0 when absent)
 * @raise ValidationError */
static int l_decode_token(lua_State *L) {
  const char *s;
  size_t len;
  long long amount;
  if (lua_type(L, 1) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError",
                     "token: expected a string, got %s", luaL_typename(L, 1));
  s = lua_tolstring(L, 1, &len);
  amount = sfn_token_decode(L, s, len, "token");
  lua_pushinteger(L, (lua_Integer)amount);
  return 2;
}

void sfn_token_open(lua_State *L) {
  lua_pushcfunction(L, l_encode_token);
  lua_setfield(L, -2, "encode_token");
  lua_pushcfunction(L, l_decode_token);
  lua_setfield(L, -2, "decode_token");
}

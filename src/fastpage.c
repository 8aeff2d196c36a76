/* The fast path of the reply decoder: one pass over a 2xx ListMapRuns body
 * straight into Lua tables, with no cJSON tree.
 *
 * It is not a second decoder. It takes a body only where it is certain that
 * reply.c's cJSON path would give the same page, and declines anything else,
 * leaving the body to that path, which then gives today's page or today's
 * error message. It declines:
 *   - a backslash anywhere (escapes) and strings holding a byte below 0x20
 *     (NULs, raw control bytes); other bytes, invalid UTF-8 included, are
 *     copied as they are, as cJSON copies them;
 *   - numbers whose double it cannot make exactly as strtod does (see
 *     exact_value), and numbers outside JSON's grammar that cJSON reads
 *     anyway ("01", "1.", "-.5");
 *   - a second occurrence of a key the page reads (cJSON takes the first);
 *   - whitespace other than JSON's four bytes (cJSON skips every byte up to
 *     0x20), a UTF-8 BOM, anything after the value;
 *   - values of unknown keys nested deeper than UNKNOWN_DEPTH_MAX;
 *   - any missing or mistyped field: the message is the cJSON path's job.
 *
 * Tables are built as the cJSON path builds them (same sizes asked for,
 * fields set in the same order), so even pairs() walks them alike.
 *
 * Deciding to decline costs nothing more than the parse: it is the test
 * the parser makes anyway. Escapes, the one thing a real reply may well
 * hold that is left to cJSON, are found up front with memchr, so such a
 * body costs what the cJSON path alone costs. For the other causes the
 * work done is lost: a 1,000-item body declined at its last number costs
 * 1.4 times the cJSON path alone (the fast pass and the garbage it made). */
#include "fastpage.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

/* find_special scans with SSE2 where there is SSE2 (every x86-64), else a
 * word at a time. SFN_FASTPAGE_SWAR picks the portable scan anyway, to test
 * it on x86-64. */
#if defined(__SSE2__) && defined(__GNUC__) && !defined(SFN_FASTPAGE_SWAR)
#define FIND_SPECIAL_SSE2 1
#include <emmintrin.h>
#else
#define FIND_SPECIAL_SSE2 0
#endif

/* Nesting followed inside the values of unknown keys before declining. */
#define UNKNOWN_DEPTH_MAX 32
/* Longest number text taken: cJSON 1.7.15 copies at most 63 bytes of a
 * number for strtod and fails on longer ones (later releases, and Debian's
 * patched 1.7.15, read any length). Within the cap both kinds agree. */
#define NUMBER_TEXT_MAX 63
/* Significant digits a uint64_t holds whatever they are. */
#define MANTISSA_DIGITS_MAX 19
/* Largest power of ten a double holds exactly. */
#define POW10_EXACT_MAX 22
/* Slots of the shared-string cache: 2^SHARED_BITS. */
#define SHARED_BITS 6
#define SHARED_SLOTS (1 << SHARED_BITS)
/* Stack slots a decode uses at most: the shared strings, the mapRuns
 * array, an item, a key, a value and its copy for a shared slot. */
#define STACK_NEEDED (SHARED_SLOTS + 5)

/* m * 10^e and m / 10^e are one IEEE operation on exact operands, so
 * correctly rounded, only where double arithmetic is done in double: not
 * with x87 excess precision (FLT_EVAL_METHOD 2 rounds twice), not under
 * -ffast-math (a division may become a multiplication by a rounded
 * reciprocal). There, only integers are taken. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(__FAST_MATH__)
#define EXACT_SCALING 1
#else
#define EXACT_SCALING 0
#endif

static const double pow10_exact[POW10_EXACT_MAX + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Where the parser is. Every read checks p < end: nothing past the body is
 * ever read. A function that returns 0 may leave p anywhere: the whole
 * body is then declined. */
typedef struct cursor {
  const char *p;
  const char *end;
} cursor;

static inline int is_space(char ch) {
  return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t';
}

static inline int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static inline void skip_space(cursor *c) {
  while (c->p < c->end && is_space(*c->p)) c->p++;
}

/* Skips whitespace, then takes ch if it comes next. */
static inline int take(cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* Skips whitespace, then takes the n bytes of word if they come next. */
static inline int take_word(cursor *c, const char *word, size_t n) {
  skip_space(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
  c->p += n;
  return 1;
}

/* The first byte in [p, end) that is '"' or below 0x20, or end: the bulk
 * of a decode's work. No need to look for '\\': a body holding one is
 * declined before parsing. 16 bytes at a time with SSE2, else 8 at a time
 * with the classic "has a byte equal to / less than" word tests (exact as
 * a yes/no); a bytewise loop finishes. Loads stay inside [p, end). */
#if FIND_SPECIAL_SSE2
static inline const unsigned char *find_special(const unsigned char *p,
                                                const unsigned char *end) {
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i control_max = _mm_set1_epi8(0x1f);
  while (end - p >= 16) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, quote),
                               /* x <= 0x1f, unsigned */
                               _mm_cmpeq_epi8(_mm_min_epu8(x, control_max), x));
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz((unsigned)mask);
    p += 16;
  }
  while (p < end && *p != '"' && *p >= 0x20) p++;
  return p;
}
#else
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
static inline const unsigned char *find_special(const unsigned char *p,
                                                const unsigned char *end) {
  while (end - p >= 8) {
    uint64_t x, quote;
    memcpy(&x, p, 8);
    quote = x ^ (ONES * '"');
    if ((((quote - ONES) & ~quote) | ((x - ONES * 0x20) & ~x)) & HIGHS) break;
    p += 8;
  }
  while (p < end && *p != '"' && *p >= 0x20) p++;
  return p;
}
#endif

/* Takes a string with no byte below 0x20 (and no escape: the body has no
 * backslash): its bytes are then the value cJSON gives, and *s, *n point
 * into the body. */
static inline int take_plain_string(cursor *c, const char **s, size_t *n) {
  const unsigned char *start, *stop;
  skip_space(c);
  if (c->p == c->end || *c->p != '"') return 0;
  start = (const unsigned char *)c->p + 1;
  stop = find_special(start, (const unsigned char *)c->end);
  if (stop == (const unsigned char *)c->end || *stop != '"') return 0;
  *s = (const char *)start;
  *n = (size_t)(stop - start);
  c->p = (const char *)stop + 1;
  return 1;
}

/* A number as written: its value is mantissa * 10^exponent, negated. */
typedef struct number {
  uint64_t mantissa;
  int exponent;
  int too_long; /* more than MANTISSA_DIGITS_MAX significant digits */
  int negative;
} number;

/* Reads a run of digits from p into n's mantissa, where digits significant
 * ones are already; returns the end of the run. Leading zeros are not
 * significant (0.000123 has three digits). Locals, not n's fields, in the
 * loop: a char read may alias them, which would force a store per digit. */
static const char *read_digits(const char *p, const char *end, number *n,
                               int *digits) {
  uint64_t m = n->mantissa;
  int d = *digits;
  for (; p < end && is_digit(*p); p++) {
    if (m == 0 && *p == '0') continue;
    if (++d > MANTISSA_DIGITS_MAX) {
      n->too_long = 1;
      continue;
    }
    m = m * 10 + (uint64_t)(*p - '0');
  }
  n->mantissa = m;
  *digits = d;
  return p;
}

/* Whether the 8 bytes at p are all digits, and then their value in *v:
 * the SWAR conversion that adds digit pairs, then pairs of pairs, then
 * the two halves, with three multiplications. The digit test: each byte's
 * high nibble is 3 and stays 3 when 6 is added (0x30..0x39); a carry out
 * of a byte happens only from a byte whose high nibble is not 3. Little
 * endian only (the first digit in the low byte); elsewhere never taken. */
static inline int take_eight_digits(const char *p, uint64_t *v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t nibbles = 0xF0F0F0F0F0F0F0F0ULL;
  uint64_t x;
  memcpy(&x, p, 8);
  if (((x & nibbles) | (((x + 0x0606060606060606ULL) & nibbles) >> 4)) !=
      0x3333333333333333ULL)
    return 0;
  x -= 0x3030303030303030ULL;
  x = x * 10 + (x >> 8);
  x = ((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32)) +
       ((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32))) >>
      32;
  *v = (uint32_t)x;
  return 1;
#else
  (void)p;
  (void)v;
  return 0;
#endif
}

/* Reads an exponent's sign and digits from p (saturating: the value is
 * only compared with POW10_EXACT_MAX); returns the end, or NULL when there
 * are no digits. */
static const char *read_exponent(const char *p, const char *end,
                                 int *exponent) {
  int negative = 0, e = 0;
  if (p < end && (*p == '+' || *p == '-')) negative = *p++ == '-';
  if (p == end || !is_digit(*p)) return NULL;
  for (; p < end && is_digit(*p); p++)
    if (e < 10000) e = e * 10 + (*p - '0');
  *exponent = negative ? -e : e;
  return p;
}

/* Takes a number in JSON's grammar, -?(0|[1-9][0-9]*)(.[0-9]+)?
 * ([eE][+-]?[0-9]+)?, of at most NUMBER_TEXT_MAX bytes. In a body that
 * parses, a delimiter follows (the caller's structure checks it), so
 * cJSON's strtod reads exactly this text. */
static inline int take_number(cursor *c, number *n) {
  const char *p, *start, *end = c->end, *frac;
  int digits = 0, e;
  skip_space(c);
  p = start = c->p;
  n->mantissa = 0;
  n->exponent = 0;
  n->too_long = 0;
  n->negative = p < end && *p == '-';
  p += n->negative;
  if (p == end || !is_digit(*p)) return 0;
  if (*p == '0' && p + 1 < end && is_digit(p[1])) return 0;
  /* Dates have ten integer digits: take eight at once. */
  if (*p != '0' && end - p >= 8 && take_eight_digits(p, &n->mantissa)) {
    p += 8;
    digits = 8;
  }
  p = read_digits(p, end, n, &digits);
  if (p < end && *p == '.') {
    frac = p + 1;
    p = read_digits(frac, end, n, &digits);
    if (p == frac) return 0;
    n->exponent = -(int)(p - frac);
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p = read_exponent(p + 1, end, &e);
    if (p == NULL) return 0;
    n->exponent += e;
  }
  c->p = p;
  return p - start <= NUMBER_TEXT_MAX;
}

/* The double strtod gives for n, when it can be made exactly: a mantissa
 * up to 2^53 is an exact double, so is 10^e up to 10^22, and one
 * multiplication or division of exact doubles is correctly rounded, which
 * is what glibc's and musl's strtod are (Clinger's fast path). Returns 0
 * for the rest, left to cJSON. 1700000000.125 is 1700000000125 / 10^3. */
static inline int exact_value(const number *n, double *out) {
  double v;
  if (n->too_long || n->mantissa > ((uint64_t)1 << 53)) return 0;
  if (n->exponent < -POW10_EXACT_MAX || n->exponent > POW10_EXACT_MAX)
    return 0;
  if (!EXACT_SCALING && n->exponent != 0) return 0;
  v = (double)n->mantissa;
  if (n->exponent > 0)
    v *= pow10_exact[n->exponent];
  else if (n->exponent < 0)
    v /= pow10_exact[-n->exponent];
  *out = n->negative ? -v : v; /* "-0" is -0.0, as strtod makes it */
  return 1;
}

static int skip_value(cursor *c, int depth);

static int skip_object(cursor *c, int depth) {
  const char *s;
  size_t n;
  c->p++; /* '{' */
  if (take(c, '}')) return 1;
  do {
    if (!take_plain_string(c, &s, &n) || !take(c, ':') ||
        !skip_value(c, depth + 1))
      return 0;
  } while (take(c, ','));
  return take(c, '}');
}

static int skip_array(cursor *c, int depth) {
  c->p++; /* '[' */
  if (take(c, ']')) return 1;
  do {
    if (!skip_value(c, depth + 1)) return 0;
  } while (take(c, ','));
  return take(c, ']');
}

/* Takes the value of an unknown key, looking only at its syntax. */
static int skip_value(cursor *c, int depth) {
  const char *s;
  size_t n;
  number num;
  skip_space(c);
  if (c->p == c->end || depth > UNKNOWN_DEPTH_MAX) return 0;
  switch (*c->p) {
    case '"': return take_plain_string(c, &s, &n);
    case '{': return skip_object(c, depth);
    case '[': return skip_array(c, depth);
    case 't': return take_word(c, "true", 4);
    case 'f': return take_word(c, "false", 5);
    case 'n': return take_word(c, "null", 4);
    default: return take_number(c, &num);
  }
}

/* Which key s[0, n) is: K_EXECUTION_ARN .. K_STOP_DATE, K_MAP_RUNS,
 * K_NEXT_TOKEN, or -1 for any other. Whether it is read depends on where
 * it is (page or item). */
static inline int key_of(const char *s, size_t n) {
  switch (n) {
    case 7: return memcmp(s, "mapRuns", 7) == 0 ? K_MAP_RUNS : -1;
    case 8: return memcmp(s, "stopDate", 8) == 0 ? K_STOP_DATE : -1;
    case 9:
      if (memcmp(s, "mapRunArn", 9) == 0) return K_MAP_RUN_ARN;
      if (memcmp(s, "startDate", 9) == 0) return K_START_DATE;
      if (memcmp(s, "nextToken", 9) == 0) return K_NEXT_TOKEN;
      return -1;
    case 12: return memcmp(s, "executionArn", 12) == 0 ? K_EXECUTION_ARN : -1;
    case 15:
      return memcmp(s, "stateMachineArn", 15) == 0 ? K_STATE_MACHINE_ARN : -1;
    default: return -1;
  }
}

/* Takes a key and says which it is (key_of). A key's text runs to the
 * next '"' (the body has no backslash), so the bytes of a known key and a
 * quote after the opening quote are that key: the keys a page is made of
 * are matched in place, without the scan for the end of a string. */
#define KNOWN_KEY_MAX 16 /* stateMachineArn" */
#define TRY_KEY(q, word, key)                                 \
  if (memcmp(q, word "\"", sizeof word) == 0) {              \
    c->p = q + sizeof word;                                   \
    *k = key;                                                 \
    return 1;                                                 \
  }
static inline int take_key(cursor *c, int *k) {
  const char *s, *q;
  size_t n;
  skip_space(c);
  q = c->p + 1;
  if (c->end - q >= KNOWN_KEY_MAX && *c->p == '"') {
    switch (*q) {
      case 'e': TRY_KEY(q, "executionArn", K_EXECUTION_ARN); break;
      case 'm':
        TRY_KEY(q, "mapRunArn", K_MAP_RUN_ARN);
        TRY_KEY(q, "mapRuns", K_MAP_RUNS);
        break;
      case 's':
        TRY_KEY(q, "stateMachineArn", K_STATE_MACHINE_ARN);
        TRY_KEY(q, "startDate", K_START_DATE);
        TRY_KEY(q, "stopDate", K_STOP_DATE);
        break;
      case 'n': TRY_KEY(q, "nextToken", K_NEXT_TOKEN); break;
      default: break;
    }
  }
  if (!take_plain_string(c, &s, &n)) return 0;
  *k = key_of(s, n);
  return 1;
}
#undef TRY_KEY

/* An item's fields as read, before they become a table. */
typedef struct item_fields {
  const char *arn[K_START_DATE]; /* executionArn .. stateMachineArn */
  size_t arn_len[K_START_DATE];
  double start_date, stop_date;
  int has_stop_date; /* 0: stopDate absent or null (running) */
  unsigned seen;     /* 1 << K_x for every field read, null included */
} item_fields;

#define REQUIRED_FIELDS                                                   \
  ((1u << K_EXECUTION_ARN) | (1u << K_MAP_RUN_ARN) |                      \
   (1u << K_STATE_MACHINE_ARN) | (1u << K_START_DATE))

/* Reads the value of item field k into f. */
static int read_field(cursor *c, item_fields *f, int k) {
  number num;
  if (k < K_START_DATE) return take_plain_string(c, &f->arn[k], &f->arn_len[k]);
  if (k == K_STOP_DATE && take_word(c, "null", 4)) return 1;
  if (!take_number(c, &num)) return 0;
  if (k == K_START_DATE) return exact_value(&num, &f->start_date);
  f->has_stop_date = 1;
  return exact_value(&num, &f->stop_date);
}

/* Reads one item object into f. */
static int read_item(cursor *c, item_fields *f) {
  int k;
  f->seen = 0;
  f->has_stop_date = 0;
  f->start_date = f->stop_date = 0; /* for -Wmaybe-uninitialized */
  if (!take(c, '{')) return 0;
  do {
    if (!take_key(c, &k) || !take(c, ':')) return 0;
    if (k < 0 || k > K_STOP_DATE) {
      if (!skip_value(c, 1)) return 0;
      continue;
    }
    if (f->seen & (1u << k)) return 0;
    f->seen |= 1u << k;
    if (!read_field(c, f, k)) return 0;
  } while (take(c, ','));
  return take(c, '}') && (f->seen & REQUIRED_FIELDS) == REQUIRED_FIELDS;
}

/* The executionArn and stateMachineArn values already made into Lua
 * strings for this page, in SHARED_SLOTS stack slots: every Map Run of a
 * page has the same executionArn and the runs of one Map state share a
 * stateMachineArn (a page interleaves a few), so an equal value reuses the
 * string instead of allocating (and later collecting) another copy. A Lua
 * string is a value: the page is the same. Open addressing on a hash of
 * the value's length and last bytes (where ARNs differ), SHARED_PROBES
 * slots deep; when all are taken the first is replaced. */
typedef struct shared_strings {
  int slot; /* stack index of the first slot */
  uint64_t hash[SHARED_SLOTS];
  const char *s[SHARED_SLOTS]; /* NULL: empty */
  size_t n[SHARED_SLOTS];
} shared_strings;

#define SHARED_PROBES 4

static inline uint64_t shared_hash(const char *s, size_t n) {
  uint64_t tail = 0;
  size_t k = n < 8 ? n : 8;
  memcpy(&tail, s + n - k, k);
  return (tail ^ n) * 0x9E3779B97F4A7C15ULL;
}

/* Pushes an ARN, through the shared strings for the two fields that
 * repeat. */
static inline void push_arn(lua_State *L, shared_strings *shared, int k,
                            const char *s, size_t n) {
  uint64_t h;
  unsigned first, i, probe;
  if (k == K_MAP_RUN_ARN) { /* unique to each Map Run */
    lua_pushlstring(L, s, n);
    return;
  }
  h = shared_hash(s, n);
  first = i = (unsigned)(h >> (64 - SHARED_BITS));
  for (probe = 0; probe < SHARED_PROBES; probe++) {
    if (shared->s[i] == NULL) break;
    if (shared->hash[i] == h && shared->n[i] == n &&
        memcmp(shared->s[i], s, n) == 0) {
      lua_pushvalue(L, shared->slot + (int)i);
      return;
    }
    i = (i + 1) & (SHARED_SLOTS - 1);
  }
  if (probe == SHARED_PROBES) i = first;
  lua_pushlstring(L, s, n);
  lua_pushvalue(L, -1);
  lua_replace(L, shared->slot + (int)i);
  shared->hash[i] = h;
  /* anchored in its slot as long as the pointer is kept */
  shared->s[i] = lua_tolstring(L, shared->slot + (int)i, &shared->n[i]);
}

/* Pushes the item table, fields in the cJSON path's order. */
static void push_item(lua_State *L, const item_fields *f, int keys,
                      shared_strings *shared) {
  int k;
  lua_createtable(L, 0, K_ITEM_FIELDS);
  for (k = K_EXECUTION_ARN; k <= K_STATE_MACHINE_ARN; k++) {
    lua_pushvalue(L, keys + k);
    push_arn(L, shared, k, f->arn[k], f->arn_len[k]);
    lua_rawset(L, -3);
  }
  lua_pushvalue(L, keys + K_START_DATE);
  lua_pushnumber(L, (lua_Number)f->start_date);
  lua_rawset(L, -3);
  if (f->has_stop_date) {
    lua_pushvalue(L, keys + K_STOP_DATE);
    lua_pushnumber(L, (lua_Number)f->stop_date);
    lua_rawset(L, -3);
  }
}

/* Reads the mapRuns array and pushes it. The count is known only at the
 * end, so the array grows as items come (the cJSON path sizes it first:
 * the same table either way). */
static int read_runs(lua_State *L, cursor *c, int keys, shared_strings *shared) {
  item_fields f;
  int i = 0;
  if (!take(c, '[')) return 0;
  lua_createtable(L, 0, 0);
  if (take(c, ']')) return 1;
  do {
    if (!read_item(c, &f)) return 0;
    push_item(L, &f, keys, shared);
    lua_rawseti(L, -2, ++i);
  } while (take(c, ','));
  return take(c, ']');
}

/* Reads nextToken: a plain string, or null (*n = 0, as for ""). */
static int read_token(cursor *c, const char **s, size_t *n) {
  if (take_word(c, "null", 4)) {
    *n = 0;
    return 1;
  }
  return take_plain_string(c, s, n);
}

/* Parses the page with the shared-string slots at base + 1 on and pushes
 * the page table; 0 to decline, with the stack anywhere above base. */
static int read_page(lua_State *L, cursor *c, int keys, int base) {
  shared_strings shared;
  const char *token = NULL;
  size_t token_len = 0;
  int k, have_runs = 0, have_token = 0;
  memset(&shared, 0, sizeof shared);
  shared.slot = base + 1;
  lua_settop(L, base + SHARED_SLOTS);
  if (!take(c, '{')) return 0;
  do {
    if (!take_key(c, &k) || !take(c, ':')) return 0;
    switch (k) {
      case K_MAP_RUNS: /* the array lands above the shared slots */
        if (have_runs++ || !read_runs(L, c, keys, &shared)) return 0;
        break;
      case K_NEXT_TOKEN:
        if (have_token++ || !read_token(c, &token, &token_len)) return 0;
        break;
      default:
        if (!skip_value(c, 1)) return 0;
    }
  } while (take(c, ','));
  if (!take(c, '}') || !have_runs) return 0;
  skip_space(c);
  if (c->p != c->end) return 0;
  lua_createtable(L, 0, 3); /* mapRuns, nextToken, ResponseMetadata */
  lua_pushvalue(L, keys + K_MAP_RUNS);
  lua_pushvalue(L, base + SHARED_SLOTS + 1);
  lua_rawset(L, -3);
  if (token_len > 0) { /* an empty token ends pagination, as in reply.c */
    lua_pushvalue(L, keys + K_NEXT_TOKEN);
    lua_pushlstring(L, token, token_len);
    lua_rawset(L, -3);
  }
  return 1;
}

int sfn_fastpage_decode(lua_State *L, const char *body, size_t len, int keys) {
  int base = lua_gettop(L);
  cursor c;
  /* lua_checkstack, not luaL_checkstack: a stack that cannot grow is the
   * cJSON path's to report, and this function raises only memory errors. */
  if (!lua_checkstack(L, STACK_NEEDED)) return 0;
  /* Escapes are what a real reply is likeliest to hold that the fast path
   * leaves to cJSON. memchr finds one for a small fraction of a fast pass,
   * so such a body costs the cJSON path alone, not a wasted pass plus the
   * garbage tables it built; and the scan inside strings then has one
   * byte less to look for. */
  if (memchr(body, '\\', len) != NULL) return 0;
  c.p = body;
  c.end = body + len;
  if (read_page(L, &c, keys, base)) {
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
  }
  lua_settop(L, base);
  return 0;
}

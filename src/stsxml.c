/* STS replies for the credential providers:
 *   core.parse_sts_xml(body)  AssumeRole / AssumeRoleWithWebIdentity XML
 *                             (and <ErrorResponse>) read with libexpat;
 *   core.json_decode(text)    a small cJSON-to-Lua decoder for the JSON
 *                             replies (STS with Accept: application/json,
 *                             IMDS, container endpoint, credential_process).
 * Parser state lives in __gc userdata; the expat callbacks never call Lua. */
#include "stsxml.h"

#include <cJSON.h>
#include <expat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define STSXML_MT "sfn.StsXml"
#define JSON_MT "sfn.Json"
#define MAX_DEPTH 32
#define MAX_TEXT (64 * 1024)
#define MAX_BODY (1024 * 1024)
#define JSON_MAX_DEPTH 64

enum field {
  F_ACCESS_KEY,
  F_SECRET,
  F_TOKEN,
  F_EXPIRATION,
  F_REQUEST_ID,
  F_ERROR_CODE,
  F_ERROR_MESSAGE,
  F_ERROR_TYPE,
  F_ROLE_ARN,
  F_COUNT
};

static const char *const field_names[F_COUNT] = {
    "access_key_id", "secret_access_key", "session_token", "expiration_text",
    "request_id",    "error_code",        "error_message", "error_type",
    "assumed_role_arn"};

typedef struct sts_parse {
  XML_Parser parser;
  int depth;
  char names[MAX_DEPTH][48]; /* local names of the open elements */
  char *text;                /* character data of the current element */
  size_t text_len, text_cap;
  int text_overflow;
  int oom;
  int doctype;
  int is_error;              /* root is ErrorResponse */
  char *fields[F_COUNT];
} sts_parse;

static int sts_gc(lua_State *L) {
  sts_parse *s = luaL_checkudata(L, 1, STSXML_MT);
  int i;
  if (s->parser != NULL) XML_ParserFree(s->parser);
  s->parser = NULL;
  free(s->text);
  s->text = NULL;
  for (i = 0; i < F_COUNT; i++) {
    if (s->fields[i] != NULL) {
      /* may hold a secret: wipe before freeing */
      memset(s->fields[i], 0, strlen(s->fields[i]));
      free(s->fields[i]);
      s->fields[i] = NULL;
    }
  }
  return 0;
}

static const char *local_name(const char *name) {
  const char *colon = strrchr(name, ':');
  return colon != NULL ? colon + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts) {
  sts_parse *s = ud;
  (void)atts;
  if (s->depth == 0 && strcmp(local_name(name), "ErrorResponse") == 0) s->is_error = 1;
  if (s->depth < MAX_DEPTH) {
    snprintf(s->names[s->depth], sizeof s->names[0], "%s", local_name(name));
  }
  s->depth++;
  s->text_len = 0;
  s->text_overflow = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *data, int len) {
  sts_parse *s = ud;
  if (len <= 0 || s->oom) return;
  if (s->text_len + (size_t)len > MAX_TEXT) {
    s->text_overflow = 1;
    return;
  }
  if (s->text_len + (size_t)len + 1 > s->text_cap) {
    size_t cap = s->text_cap ? s->text_cap : 256;
    char *p;
    while (cap < s->text_len + (size_t)len + 1) cap *= 2;
    p = realloc(s->text, cap);
    if (p == NULL) {
      s->oom = 1;
      XML_StopParser(s->parser, XML_FALSE);
      return;
    }
    s->text = p;
    s->text_cap = cap;
  }
  memcpy(s->text + s->text_len, data, (size_t)len);
  s->text_len += (size_t)len;
  s->text[s->text_len] = '\0';
}

static int field_for(const sts_parse *s) {
  const char *leaf, *parent;
  if (s->depth < 2 || s->depth > MAX_DEPTH) return -1;
  leaf = s->names[s->depth - 1];
  parent = s->names[s->depth - 2];
  if (strcmp(leaf, "RequestId") == 0) return F_REQUEST_ID;
  if (s->is_error) {
    if (strcmp(parent, "Error") != 0) return -1;
    if (strcmp(leaf, "Code") == 0) return F_ERROR_CODE;
    if (strcmp(leaf, "Message") == 0) return F_ERROR_MESSAGE;
    if (strcmp(leaf, "Type") == 0) return F_ERROR_TYPE;
    return -1;
  }
  if (strcmp(parent, "Credentials") == 0) {
    if (strcmp(leaf, "AccessKeyId") == 0) return F_ACCESS_KEY;
    if (strcmp(leaf, "SecretAccessKey") == 0) return F_SECRET;
    if (strcmp(leaf, "SessionToken") == 0) return F_TOKEN;
    if (strcmp(leaf, "Expiration") == 0) return F_EXPIRATION;
  }
  if (strcmp(parent, "AssumedRoleUser") == 0 && strcmp(leaf, "Arn") == 0) return F_ROLE_ARN;
  return -1;
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  sts_parse *s = ud;
  int f = field_for(s);
  (void)name;
  if (f >= 0 && !s->oom) {
    char *copy = malloc(s->text_len + 1);
    if (copy == NULL) {
      s->oom = 1;
      XML_StopParser(s->parser, XML_FALSE);
      return;
    }
    memcpy(copy, s->text_len ? s->text : "", s->text_len);
    copy[s->text_len] = '\0';
    if (s->fields[f] != NULL) {
      memset(s->fields[f], 0, strlen(s->fields[f]));
      free(s->fields[f]);
    }
    s->fields[f] = copy;
  }
  if (s->text != NULL && s->text_len > 0) memset(s->text, 0, s->text_len);
  s->text_len = 0;
  s->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
  sts_parse *s = ud;
  (void)name;
  (void)sysid;
  (void)pubid;
  (void)has_internal_subset;
  s->doctype = 1; /* no DTDs, no entities: a reply never carries one */
  XML_StopParser(s->parser, XML_FALSE);
}

static long long days_from_civil(long long y, unsigned m, unsigned d) {
  long long era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* ISO 8601 (YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)) to epoch seconds. */
static int parse_iso8601(const char *t, double *out) {
  int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
  double frac = 0;
  const char *p;
  if (sscanf(t, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
      n == 0)
    return 0;
  p = t + n;
  if (*p == '.') {
    double scale = 0.1;
    p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') {
      frac += (*p - '0') * scale;
      scale /= 10;
      p++;
    }
  }
  if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
    /* UTC */
  } else if ((*p == '+' || *p == '-') &&
             (sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 || sscanf(p + 1, "%2d%2d", &oh, &om) == 2)) {
    if (*p == '-') {
      oh = -oh;
      om = -om;
    }
  } else {
    return 0;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return 0;
  *out = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400.0 + h * 3600 + mi * 60 +
         sec + frac - (oh * 3600 + om * 60);
  return 1;
}

/** Reads an STS XML reply.
 * @function parse_sts_xml
 * @tparam string body
 * @treturn table `{ access_key_id=, secret_access_key=, session_token=,
 *   expiration= (epoch seconds), expiration_text=, request_id=,
 *   assumed_role_arn= }`, or for `<ErrorResponse>`
 *   `{ error_code=, error_message=, error_type=, request_id= }`
 * @treturn[2] nil
 * @treturn[2] string what is wrong with the document */
static int l_parse_sts_xml(lua_State *L) {
  size_t len;
  const char *body = luaL_checklstring(L, 1, &len);
  sts_parse *s;
  enum XML_Status st;
  int i;
  double expiration = 0;
  if (len > MAX_BODY) {
    lua_pushnil(L);
    lua_pushliteral(L, "STS reply too large");
    return 2;
  }
  s = lua_newuserdata(L, sizeof *s); /* 2 */
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, STSXML_MT);
  s->parser = XML_ParserCreate("UTF-8");
  if (s->parser == NULL) return sfn_error_raisef(L, "ResponseError", "out of memory");
  XML_SetUserData(s->parser, s);
  XML_SetElementHandler(s->parser, on_start, on_end);
  XML_SetCharacterDataHandler(s->parser, on_text);
  XML_SetStartDoctypeDeclHandler(s->parser, on_doctype);
  st = XML_Parse(s->parser, body, (int)len, XML_TRUE);
  if (s->oom) return sfn_error_raisef(L, "ResponseError", "out of memory");
  if (s->doctype) {
    lua_pushnil(L);
    lua_pushliteral(L, "STS reply holds a DOCTYPE");
    return 2;
  }
  if (st != XML_STATUS_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "STS reply is not well-formed XML (line %d: %s)",
                    (int)XML_GetCurrentLineNumber(s->parser),
                    XML_ErrorString(XML_GetErrorCode(s->parser)));
    return 2;
  }
  if (s->is_error) {
    if (s->fields[F_ERROR_CODE] == NULL) {
      lua_pushnil(L);
      lua_pushliteral(L, "STS ErrorResponse without an error code");
      return 2;
    }
  } else {
    if (s->fields[F_ACCESS_KEY] == NULL || s->fields[F_SECRET] == NULL) {
      lua_pushnil(L);
      lua_pushliteral(L, "STS reply holds no Credentials");
      return 2;
    }
    if (s->fields[F_EXPIRATION] != NULL && !parse_iso8601(s->fields[F_EXPIRATION], &expiration)) {
      lua_pushnil(L);
      lua_pushliteral(L, "STS reply has an unreadable Expiration");
      return 2;
    }
  }
  lua_createtable(L, 0, F_COUNT + 1);
  for (i = 0; i < F_COUNT; i++) {
    if (s->fields[i] == NULL) continue;
    lua_pushstring(L, s->fields[i]);
    lua_setfield(L, -2, field_names[i]);
  }
  if (!s->is_error && s->fields[F_EXPIRATION] != NULL) {
    lua_pushnumber(L, expiration);
    lua_setfield(L, -2, "expiration");
  }
  /* wipe and free now rather than at the next collection */
  lua_pushcfunction(L, sts_gc);
  lua_pushvalue(L, 2);
  lua_call(L, 1, 0);
  return 1;
}

/* ---- JSON ---- */

typedef struct json_holder {
  cJSON *root;
} json_holder;

static int json_gc(lua_State *L) {
  json_holder *h = luaL_checkudata(L, 1, JSON_MT);
  if (h->root != NULL) cJSON_Delete(h->root);
  h->root = NULL;
  return 0;
}

static void push_json(lua_State *L, const cJSON *item, int depth) {
  if (depth > JSON_MAX_DEPTH) {
    sfn_error_raisef(L, "ResponseError", "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
  }
  luaL_checkstack(L, 4, "JSON too deep");
  if (cJSON_IsString(item)) {
    lua_pushstring(L, item->valuestring);
  } else if (cJSON_IsNumber(item)) {
    double v = item->valuedouble;
#if LUA_VERSION_NUM >= 503
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
      lua_pushinteger(L, (lua_Integer)v);
    else
#endif
      lua_pushnumber(L, v);
  } else if (cJSON_IsTrue(item)) {
    lua_pushboolean(L, 1);
  } else if (cJSON_IsFalse(item)) {
    lua_pushboolean(L, 0);
  } else if (cJSON_IsArray(item)) {
    const cJSON *c;
    lua_Integer i = 1;
    lua_newtable(L);
    for (c = item->child; c != NULL; c = c->next, i++) {
      if (cJSON_IsNull(c)) continue;
      push_json(L, c, depth + 1);
      lua_rawseti(L, -2, i);
    }
  } else if (cJSON_IsObject(item)) {
    const cJSON *c;
    lua_newtable(L);
    for (c = item->child; c != NULL; c = c->next) {
      if (cJSON_IsNull(c) || c->string == NULL) continue;
      lua_pushstring(L, c->string);
      push_json(L, c, depth + 1);
      lua_rawset(L, -3);
    }
  } else {
    lua_pushnil(L);
  }
}

/** Decodes JSON text (null becomes nil).
 * @function json_decode
 * @tparam string text
 * @return the value
 * @treturn[2] nil
 * @treturn[2] string "invalid JSON" */
static int l_json_decode(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  json_holder *h;
  if (len > MAX_BODY) {
    lua_pushnil(L);
    lua_pushliteral(L, "JSON text too large");
    return 2;
  }
  h = lua_newuserdata(L, sizeof *h); /* 2 */
  h->root = NULL;
  luaL_setmetatable(L, JSON_MT);
  h->root = cJSON_ParseWithLength(text, len);
  if (h->root == NULL) {
    lua_pushnil(L);
    lua_pushliteral(L, "invalid JSON");
    return 2;
  }
  push_json(L, h->root, 0); /* 3 */
  lua_pushcfunction(L, json_gc);
  lua_pushvalue(L, 2);
  lua_call(L, 1, 0);
  return 1;
}

void sfn_stsxml_open(lua_State *L) {
  luaL_newmetatable(L, STSXML_MT);
  lua_pushcfunction(L, sts_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, JSON_MT);
  lua_pushcfunction(L, json_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_parse_sts_xml);
  lua_setfield(L, -2, "parse_sts_xml");
  lua_pushcfunction(L, l_json_decode);
  lua_setfield(L, -2, "json_decode");
}

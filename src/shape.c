/* Operation models as data (see shape.h): input validation and the JSON
 * body from an sfn_input_model, reply conversion along an sfn_shape.
 *
 * The conversion walks the shape, not the body: it descends only as deep
 * as the shape does (three levels at most), skips unknown keys without
 * looking at them and fails a known member of the wrong type at its own
 * level. The cJSON tree lives in a "sfn.ShapeTree" userdata whose __gc
 * frees it, so a memory error raised during the conversion leaks nothing;
 * on the normal paths it is freed at once. */
#include "shape.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "errors.h"
#include "request.h"
#include "token.h"

#define PATH_MAX_BYTES 160

/* ---- input ------------------------------------------------------------ */

/* Characters of a strictly valid UTF-8 string without NUL, or -1. */
static long utf8_chars(const char *s, size_t len) {
  size_t i;
  long n = 0;
  if (memchr(s, '\0', len) != NULL || !sfn_token_utf8_valid(s, len))
    return -1;
  for (i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
  return n;
}

static void check_string(lua_State *L, int idx, const sfn_member *m) {
  size_t len;
  const char *s;
  long chars;
  if (lua_type(L, idx) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError", "%s: expected a string, got %s",
                     m->name, luaL_typename(L, idx));
  s = lua_tolstring(L, idx, &len);
  chars = utf8_chars(s, len);
  if (chars < 0)
    sfn_error_raisef(L, "ValidationError",
                     "%s: not valid UTF-8 or holds a NUL byte", m->name);
  if (chars < m->min || chars > m->max)
    sfn_error_raisef(L, "ValidationError",
                     "%s: length must be %d..%d characters, got %d", m->name,
                     (int)m->min, (int)m->max, (int)chars);
}

static void check_integer(lua_State *L, int idx, const sfn_member *m) {
  lua_Number n;
  if (lua_type(L, idx) != LUA_TNUMBER)
    sfn_error_raisef(L, "ValidationError", "%s: expected an integer, got %s",
                     m->name, luaL_typename(L, idx));
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) { /* compared as integers: no rounding */
    lua_Integer i = lua_tointeger(L, idx);
    if (i < (lua_Integer)m->min || i > (lua_Integer)m->max)
      sfn_error_raisef(L, "ValidationError", "%s: must be an integer in %d..%d",
                       m->name, (int)m->min, (int)m->max);
    return;
  }
#endif
  /* NaN fails both comparisons, fractions the integral test; integral
   * floats are fine (LuaJIT has no integers) */
  n = lua_tonumber(L, idx);
  if (!(n >= (lua_Number)m->min && n <= (lua_Number)m->max) || n != floor(n))
    sfn_error_raisef(L, "ValidationError", "%s: must be an integer in %d..%d",
                     m->name, (int)m->min, (int)m->max);
}

static void check_enum(lua_State *L, int idx, const sfn_member *m) {
  size_t len, i;
  const char *s;
  luaL_Buffer b;
  idx = lua_absindex(L, idx); /* the buffer below pushes */
  if (lua_type(L, idx) == LUA_TSTRING) {
    s = lua_tolstring(L, idx, &len);
    for (i = 0; m->values[i] != NULL; i++)
      if (strlen(m->values[i]) == len && memcmp(m->values[i], s, len) == 0)
        return;
  }
  luaL_buffinit(L, &b);
  for (i = 0; m->values[i] != NULL; i++) {
    if (i > 0) luaL_addstring(&b, ", ");
    luaL_addstring(&b, m->values[i]);
  }
  luaL_pushresult(&b);
  if (lua_type(L, idx) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError", "%s: expected one of %s, got %s",
                     m->name, lua_tostring(L, -1), luaL_typename(L, idx));
  /* the value is not quoted: it may be anything, up to megabytes */
  sfn_error_raisef(L, "ValidationError", "%s: must be one of %s", m->name,
                   lua_tostring(L, -1));
}

/* The index of the member named by the key at idx, or -1. */
static int member_index(lua_State *L, int idx, const sfn_input_model *model) {
  size_t i;
  for (i = 0; i < model->count; i++)
    if (sfn_key_is(L, idx, model->members[i].name)) return (int)i;
  return -1;
}

void sfn_input_push_body(lua_State *L, int params_idx,
                         const sfn_input_model *model) {
  int present[SFN_MAX_MEMBERS];
  size_t i, bound = 64;
  char *scratch;
  cJSON *root;
  int ok;
  params_idx = lua_absindex(L, params_idx);
  if (lua_type(L, params_idx) != LUA_TTABLE)
    sfn_error_raisef(L, "ValidationError", "params: expected a table, got %s",
                     luaL_typename(L, params_idx));
  memset(present, 0, sizeof present);
  luaL_checkstack(L, 4, "params");
  lua_pushnil(L);
  while (lua_next(L, params_idx) != 0) {
    int k = member_index(L, -2, model);
    if (k < 0) {
      lua_pushvalue(L, -2); /* tolstring on a copy keeps lua_next's key */
      sfn_unknown_key(L, -1, "params: unknown parameter", model->expected);
    }
    switch (model->members[k].kind) {
    case SFN_IN_STRING: check_string(L, -1, &model->members[k]); break;
    case SFN_IN_INTEGER: check_integer(L, -1, &model->members[k]); break;
    case SFN_IN_ENUM: check_enum(L, -1, &model->members[k]); break;
    }
    present[k] = 1;
    lua_pop(L, 1);
  }
  if (model->rules != NULL) model->rules(L, present);

  /* JSON escaping grows a byte to at most 6 ("\u00XX"). */
  for (i = 0; i < model->count; i++)
    if (present[i]) {
      lua_getfield(L, params_idx, model->members[i].name);
      bound += 6 * lua_rawlen(L, -1) + 2 * strlen(model->members[i].name) +
               40;
      lua_pop(L, 1);
    }
  scratch = lua_newuserdata(L, bound); /* GC-owned: safe if we raise */
  /* Every value was checked: the strings hold no NUL and stay reachable
   * from params. Nothing below can raise until the tree is deleted. */
  root = cJSON_CreateObject();
  ok = root != NULL;
  for (i = 0; ok && i < model->count; i++) {
    const sfn_member *m = &model->members[i];
    if (!present[i]) continue;
    lua_getfield(L, params_idx, m->name); /* a table field: no metamethods */
    if (m->kind == SFN_IN_INTEGER)
      ok = cJSON_AddNumberToObject(root, m->name, (double)lua_tonumber(L, -1)) !=
           NULL;
    else
      ok = cJSON_AddStringToObject(root, m->name, lua_tostring(L, -1)) != NULL;
    lua_pop(L, 1);
  }
  ok = ok && cJSON_PrintPreallocated(root, scratch, (int)bound, 0);
  cJSON_Delete(root);
  if (!ok) { /* only an allocation can fail: report it as Lua does its own */
    lua_pushliteral(L, "not enough memory");
    lua_error(L);
  }
  lua_pushstring(L, scratch);
  lua_remove(L, -2); /* the scratch buffer */
}

/* ---- output ----------------------------------------------------------- */

static int is_type(const cJSON *v, int type) {
  return v != NULL && (v->type & 0xff) == type;
}

static const char *json_type_name(const cJSON *v) {
  if (v == NULL) return "missing";
  switch (v->type & 0xff) {
  case cJSON_NULL: return "null";
  case cJSON_False:
  case cJSON_True: return "a boolean";
  case cJSON_Number: return "a number";
  case cJSON_String: return "a string";
  case cJSON_Array: return "an array";
  case cJSON_Object: return "an object";
  default: return "an unknown value";
  }
}

/* The conversion's context: where a failure's message goes. */
typedef struct convert {
  int msg_idx; /* a stack slot for the message */
} convert;

static int fail(lua_State *L, const convert *c) {
  lua_replace(L, c->msg_idx); /* the message pushed just before */
  return 0;
}

static int push_object(lua_State *L, const convert *c, const cJSON *obj,
                       const sfn_shape *shape, const char *path);

/* Pushes the value v of field f (path names it), or sets the message and
 * returns 0. */
static int push_field(lua_State *L, const convert *c, const cJSON *v,
                      const sfn_field *f, const char *path) {
  switch (f->kind) {
  case SFN_OUT_STRING:
  case SFN_OUT_TOKEN:
    if (!is_type(v, cJSON_String) || v->valuestring == NULL) {
      lua_pushfstring(L, "%s is %s, not a string", path, json_type_name(v));
      return fail(L, c);
    }
    lua_pushstring(L, v->valuestring);
    return 1;
  case SFN_OUT_DATE:
  case SFN_OUT_INTEGER:
  case SFN_OUT_NUMBER: {
    double d;
    if (!is_type(v, cJSON_Number) || !isfinite(v->valuedouble)) {
      lua_pushfstring(L, "%s is %s, not %s", path,
                      is_type(v, cJSON_Number) ? "out of range"
                                               : json_type_name(v),
                      f->kind == SFN_OUT_DATE ? "a date in seconds"
                                              : "a number");
      return fail(L, c);
    }
    d = v->valuedouble;
    if (f->kind == SFN_OUT_INTEGER && d == floor(d) && fabs(d) <= 9007199254740992.0)
      lua_pushinteger(L, (lua_Integer)d);
    else
      lua_pushnumber(L, (lua_Number)d);
    return 1;
  }
  case SFN_OUT_OBJECT:
    return push_object(L, c, v, f->sub, path);
  case SFN_OUT_LIST: {
    const cJSON *item;
    int i, n;
    char sub[PATH_MAX_BYTES];
    if (!is_type(v, cJSON_Array)) {
      lua_pushfstring(L, "%s is %s, not an array", path, json_type_name(v));
      return fail(L, c);
    }
    n = cJSON_GetArraySize(v);
    lua_createtable(L, n, 0);
    for (i = 1, item = v->child; item != NULL; i++, item = item->next) {
      snprintf(sub, sizeof sub, "%.100s[%d]", path, i);
      if (!push_object(L, c, item, f->sub, sub)) return 0;
      lua_rawseti(L, -2, i);
    }
    return 1;
  }
  }
  return 0;
}

/* Pushes the structure obj as a table of the shape's fields. path names
 * it ("reply" at the top). */
static int push_object(lua_State *L, const convert *c, const cJSON *obj,
                       const sfn_shape *shape, const char *path) {
  size_t i;
  char sub[PATH_MAX_BYTES];
  const char *prefix = strcmp(path, "reply") == 0 ? "" : path;
  luaL_checkstack(L, 4, "sfn reply");
  if (!is_type(obj, cJSON_Object)) {
    if (strcmp(path, "reply") == 0)
      lua_pushfstring(L, "reply body is %s, not an object",
                      json_type_name(obj));
    else
      lua_pushfstring(L, "%s is %s, not an object", path, json_type_name(obj));
    return fail(L, c);
  }
  lua_createtable(L, 0, (int)shape->count);
  for (i = 0; i < shape->count; i++) {
    const sfn_field *f = &shape->fields[i];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);
    if (v == NULL || is_type(v, cJSON_NULL)) {
      if (!f->required) continue;
      lua_pushfstring(L, "%s has no %s", path, f->name);
      return fail(L, c);
    }
    snprintf(sub, sizeof sub, "%.100s%s%.40s", prefix, prefix[0] != '\0' ? "." : "",
             f->name);
    if (!push_field(L, c, v, f, sub)) return 0;
    if (f->kind == SFN_OUT_TOKEN && lua_rawlen(L, -1) == 0) {
      lua_pop(L, 1); /* an empty token ends pagination for boto3 too */
      continue;
    }
    lua_setfield(L, -2, f->name);
  }
  return 1;
}

static void push_metadata(lua_State *L, const sfn_reply *r) {
  lua_createtable(L, 0, 3);
  if (r->request_id != NULL && r->request_id[0] != '\0') {
    lua_pushstring(L, r->request_id);
    lua_setfield(L, -2, "RequestId");
  }
  lua_pushinteger(L, (lua_Integer)r->status);
  lua_setfield(L, -2, "HTTPStatusCode");
  lua_pushinteger(L, 0);
  lua_setfield(L, -2, "RetryAttempts");
}

/* Parses body[0, len) as exactly one JSON value with only whitespace after
 * it (what reply.c accepts), or NULL. */
static cJSON *parse_exact(const char *body, size_t len) {
  const char *end = NULL;
  cJSON *json = cJSON_ParseWithLengthOpts(body, len, &end, 0);
  if (json == NULL) return NULL;
  if (end == NULL || end < body) end = body + len;
  while (end < body + len &&
         (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
    end++;
  if (end < body + len) {
    cJSON_Delete(json);
    return NULL;
  }
  return json;
}

int sfn_shape_decode(lua_State *L, const sfn_reply *r, const sfn_shape *shape) {
  int base = lua_gettop(L), ok;
  sfn_json_tree *t;
  convert c;
  /* Error replies, empty and unreadable bodies: the same sfn.Error every
   * operation gives (reply.c words what is wrong with the body). */
  if (r->status < 200 || r->status > 299 || r->body == NULL ||
      r->body_len == 0)
    return sfn_reply_decode(L, r);
  luaL_checkstack(L, 8, "sfn reply");
  lua_pushnil(L); /* base + 1: the message slot */
  c.msg_idx = base + 1;
  t = sfn_json_tree_push(L); /* base + 2 */
  t->json = parse_exact(r->body, r->body_len);
  if (t->json == NULL) {
    lua_settop(L, base);
    ok = sfn_reply_decode(L, r); /* not JSON: the same words as reply.c */
    if (!ok) return 0;
    lua_pop(L, 1); /* unreachable: a body reply.c reads is JSON */
    sfn_error_push(L, "ResponseError", "reply body is not valid JSON",
                   (int)r->status, r->request_id, 0, 1);
    return 0;
  }
  ok = push_object(L, &c, t->json, shape, "reply");
  sfn_json_tree_free(t); /* the message, if any, is a Lua string by now */
  if (ok) {
    push_metadata(L, r);
    lua_setfield(L, -2, "ResponseMetadata");
  } else {
    sfn_error_push(L, "ResponseError", lua_tostring(L, c.msg_idx),
                   (int)r->status, r->request_id, 0, 1);
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return ok;
}

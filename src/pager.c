/* sfn.Pager: botocore's PageIterator (botocore/paginate.py) as a state
 * machine the caller feeds page by page, plus the C iterator closures
 * client:pages / client:items built on it.
 *
 * It pages any operation with a paginator (operations.h): the result key,
 * the token and limit members and the token's length come from there.
 *
 * The pager keeps its Lua values in a state table held by a registry
 * reference (released in __gc):
 *   params  the request params but the token, copied at creation, with
 *           page_size as the limit member
 *   token   the nextToken to send next, or nil (also the token sent for the
 *           page being awaited: next_params does not change state)
 *   page    the current page (items iterator: one page at a time)
 *   resume  the resume token, once max_items stopped the iteration
 *   cycle   the nextToken a later one is compared with (Brent's cycle
 *           detection: a service that repeats A, B, A, B... is caught
 *           within twice the cycle's length, in constant memory) */
#include "pager.h"

#include <math.h>
#include <string.h>

#include "client.h"
#include "errors.h"
#include "operations.h"
#include "request.h"
#include "token.h"

#define PAGE_SIZE_MAX 1000

typedef struct sfn_pager {
  const sfn_operation *op; /* has a paginator */
  int ref;               /* the state table; LUA_NOREF once collected */
  int done;              /* no further request: finished, failed or closed */
  int fetching;          /* an iterator is in sfn_client_fetch or accepting
                            its page; stays set when that raised */
  int first;             /* the next page accepted is the first */
  int index;             /* items iterator: next position in the page */
  long long max_items;   /* 0: no limit */
  long long start_trunc; /* items to drop from the first page */
  long long pages;       /* pages accepted */
  long long items;       /* items kept (yielded or to be yielded) */
  long long cycle_power; /* Brent: pages between moves of state.cycle */
  long long cycle_len;   /* pages since state.cycle moved */
} sfn_pager;

typedef struct sfn_pagination {
  long long max_items; /* 0: absent */
  long long page_size; /* 0: absent */
  const char *starting_token; /* NULL: absent */
  size_t starting_token_len;
} sfn_pagination;

/* ---- helpers ------------------------------------------------------------ */

static sfn_pager *check_pager(lua_State *L, int idx) {
  sfn_pager *p = luaL_testudata(L, idx, SFN_PAGER_MT);
  if (p == NULL)
    sfn_error_raisef(L, "ValidationError",
                     "pager: expected an sfn.Pager, got %s (call methods "
                     "with ':')", luaL_typename(L, idx));
  return p;
}

/* Pushes the state table (returns 1), or nil once collected (returns 0). */
static int push_state(lua_State *L, const sfn_pager *p) {
  if (p->ref == LUA_NOREF) {
    lua_pushnil(L);
    return 0;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref);
  return 1;
}

/* Whether no further request can be made. */
static int pager_over(const sfn_pager *p) {
  return p->done || p->fetching || p->ref == LUA_NOREF;
}

static void release_page(lua_State *L, sfn_pager *p) {
  p->index = 0;
  if (push_state(L, p)) {
    lua_pushnil(L);
    lua_setfield(L, -2, "page");
  }
  lua_pop(L, 1);
}

/* botocore never sends the token string "None" (_inject_token_into_kwargs). */
static int is_none_token(const char *s, size_t len) {
  return s != NULL && len == 4 && memcmp(s, "None", 4) == 0;
}

/* Pushes a fresh params table for the next request. */
static void push_params(lua_State *L, const sfn_pager *p) {
  int state, params;
  size_t len;
  const char *tok;
  push_state(L, p);
  state = lua_gettop(L);
  lua_getfield(L, state, "params");
  params = lua_gettop(L);
  lua_createtable(L, 0, 4);
  luaL_checkstack(L, 3, "pager params");
  lua_pushnil(L);
  while (lua_next(L, params) != 0) { /* a private table of checked values */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_getfield(L, state, "token");
  tok = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
  if (tok != NULL && !is_none_token(tok, len))
    lua_setfield(L, -2, p->op->paginator->input_token);
  else
    lua_pop(L, 1);
  lua_replace(L, state);
  lua_settop(L, state);
}

/* Removes the first k items of the array at idx (n items), in place. */
static void drop_front(lua_State *L, int idx, int n, long long k) {
  int i, keep = k >= n ? 0 : n - (int)k;
  for (i = 1; i <= keep; i++) {
    lua_rawgeti(L, idx, i + (n - keep));
    lua_rawseti(L, idx, i);
  }
  for (i = keep + 1; i <= n; i++) {
    lua_pushnil(L);
    lua_rawseti(L, idx, i);
  }
}

/* A number from the page's metadata when it lies in [min, max], else 0. */
static lua_Number metadata_number(lua_State *L, int meta, const char *name,
                                  lua_Number min, lua_Number max) {
  lua_Number value = 0;
  lua_getfield(L, meta, name);
  if (lua_type(L, -1) == LUA_TNUMBER) value = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return value >= min && value <= max ? value : 0;
}

/* Raises the ResponseError for a page whose nextToken was seen before. */
static void raise_repeated(lua_State *L, const sfn_pager *p, int page,
                           const char *what) {
  const char *request_id = NULL;
  int status = 0, attempts = 0, meta;
  lua_getfield(L, page, "ResponseMetadata");
  meta = lua_gettop(L);
  if (lua_type(L, meta) == LUA_TTABLE) {
    lua_getfield(L, meta, "RequestId");
    if (lua_type(L, -1) == LUA_TSTRING) request_id = lua_tostring(L, -1);
    status = (int)metadata_number(L, meta, "HTTPStatusCode", 100, 599);
    attempts = (int)metadata_number(L, meta, "RetryAttempts", 0, 1000) + 1;
  }
  sfn_error_push(L, "ResponseError", what, status, request_id, 0, attempts);
  sfn_operation_name_error(L, -1, p->op);
  sfn_error_throw(L);
}

/* Brent's cycle detection over the nextTokens of one listing: whether the
 * token at next_idx equals state.cycle; moves state.cycle to it every
 * power-of-two pages. */
static int seen_in_cycle(lua_State *L, sfn_pager *p, int state,
                         int next_idx) {
  int seen;
  lua_getfield(L, state, "cycle");
  seen = lua_rawequal(L, -1, next_idx);
  lua_pop(L, 1);
  if (seen) return 1;
  if (p->cycle_len == p->cycle_power) {
    lua_pushvalue(L, next_idx);
    lua_setfield(L, state, "cycle");
    p->cycle_power = p->cycle_power > 0 ? 2 * p->cycle_power : 1;
    p->cycle_len = 0;
  }
  p->cycle_len++;
  return 0;
}

/* Applies botocore's PageIterator.__iter__ rules to the page at idx (edited
 * in place; it becomes the current page). */
static void pager_accept(lua_State *L, sfn_pager *p, int page) {
  int top = lua_gettop(L), runs, next_idx, state, n = 0;
  const char *next = NULL, *sent;
  size_t next_len = 0, sent_len = 0;
  long long strunc;
  page = lua_absindex(L, page);
  if (p->done || p->ref == LUA_NOREF)
    sfn_error_raisef(L, "ValidationError", "accept: the pager is done");
  if (lua_type(L, page) != LUA_TTABLE)
    sfn_error_raisef(L, "ValidationError", "page: expected a table, got %s",
                     luaL_typename(L, page));
  lua_getfield(L, page, p->op->paginator->result_key);
  runs = lua_gettop(L);
  if (lua_type(L, runs) == LUA_TTABLE)
    n = (int)lua_rawlen(L, runs);
  else if (!lua_isnil(L, runs))
    sfn_error_raisef(L, "ValidationError",
                     "page.%s: expected a table, got %s",
                     p->op->paginator->result_key, luaL_typename(L, runs));
  lua_getfield(L, page, "nextToken");
  next_idx = lua_gettop(L);
  if (lua_type(L, next_idx) == LUA_TSTRING) {
    next = lua_tolstring(L, next_idx, &next_len);
    if (!sfn_token_utf8_valid(next, next_len))
      sfn_error_raisef(L, "ValidationError", "page.nextToken: not valid UTF-8");
    if (next_len == 0) next = NULL; /* botocore: an empty token ends it */
  } else if (!lua_isnil(L, next_idx)) {
    sfn_error_raisef(L, "ValidationError",
                     "page.nextToken: expected a string, got %s",
                     luaL_typename(L, next_idx));
  }
  push_state(L, p);
  state = lua_gettop(L);
  lua_getfield(L, state, "token");
  sent = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &sent_len)
                                        : NULL;

  /* _handle_first_request: skip what the starting token already returned */
  strunc = p->first ? p->start_trunc : 0;
  if (strunc > 0 && n > 0) {
    drop_front(L, runs, n, strunc);
    n = strunc >= n ? 0 : n - (int)strunc;
  }

  if (p->max_items > 0 && p->items + n > p->max_items) {
    /* _truncate_response: max_items ends inside this page */
    long long keep = p->max_items - p->items;
    int i;
    for (i = n; i > keep; i--) {
      lua_pushnil(L);
      lua_rawseti(L, runs, i);
    }
    sfn_token_push_encoded(L, sent, sent_len, keep + strunc);
    lua_setfield(L, state, "resume");
    lua_pushnil(L);
    lua_setfield(L, page, "nextToken"); /* over: resume via the token */
    p->items = p->max_items;
    p->done = 1;
  } else if (next == NULL) {
    p->items += n;
    p->done = 1;
  } else if (p->max_items > 0 && p->items + n == p->max_items) {
    /* on a page boundary: the service token is the resume point */
    sfn_token_push_encoded(L, next, next_len, -1);
    lua_setfield(L, state, "resume");
    p->items += n;
    p->done = 1;
  } else if (sent != NULL && !is_none_token(sent, sent_len) &&
             sent_len == next_len && memcmp(sent, next, next_len) == 0) {
    p->done = 1;
    release_page(L, p);
    raise_repeated(L, p, page, "the service returned the same nextToken twice");
  } else if (seen_in_cycle(L, p, state, next_idx)) {
    p->done = 1;
    release_page(L, p);
    raise_repeated(L, p, page, "the service returned a nextToken it had "
                            "returned before: the listing would never end");
  } else {
    lua_pushvalue(L, next_idx);
    lua_setfield(L, state, "token");
    p->items += n;
  }
  p->pages++;
  p->first = 0;
  lua_pushvalue(L, page);
  lua_setfield(L, state, "page");
  p->index = 1;
  lua_settop(L, top);
}

/* Reads an integral number in lo..hi (integral floats welcome: LuaJIT has
 * only doubles; NaN and infinities fail the range test). */
static long long check_count(lua_State *L, int idx, const char *name,
                             double lo, double hi, const char *range) {
  lua_Number v;
  if (lua_type(L, idx) != LUA_TNUMBER)
    sfn_error_raisef(L, "ValidationError",
                     "%s: expected an integer, got %s", name,
                     luaL_typename(L, idx));
#if LUA_VERSION_NUM >= 503
  /* compared as integers: 2^53+1 must not round into range as a double */
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    if (i < (lua_Integer)lo || i > (lua_Integer)hi)
      sfn_error_raisef(L, "ValidationError", "%s: must be an integer in %s",
                       name, range);
    return (long long)i;
  }
#endif
  v = lua_tonumber(L, idx);
  if (!(v >= lo && v <= hi) || v != floor(v))
    sfn_error_raisef(L, "ValidationError", "%s: must be an integer in %s",
                     name, range);
  return (long long)v;
}

static void check_pagination(lua_State *L, int idx, sfn_pagination *out,
                             size_t token_max) {
  memset(out, 0, sizeof *out);
  if (lua_isnoneornil(L, idx)) return;
  if (lua_type(L, idx) != LUA_TTABLE)
    sfn_error_raisef(L, "ValidationError",
                     "pagination: expected a table or nil, got %s",
                     luaL_typename(L, idx));
  luaL_checkstack(L, 4, "pagination");
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (sfn_key_is(L, -2, "max_items")) {
      out->max_items = check_count(L, -1, "pagination.max_items", 1,
                                   (double)SFN_TOKEN_AMOUNT_MAX, "1..2^53");
    } else if (sfn_key_is(L, -2, "page_size")) {
      out->page_size = check_count(L, -1, "pagination.page_size", 1,
                                   PAGE_SIZE_MAX, "1..1000");
    } else if (sfn_key_is(L, -2, "starting_token")) {
      size_t len;
      if (lua_type(L, -1) != LUA_TSTRING)
        sfn_error_raisef(L, "ValidationError",
                         "pagination.starting_token: expected a string, got "
                         "%s", luaL_typename(L, -1));
      out->starting_token = lua_tolstring(L, -1, &len);
      out->starting_token_len = len;
      if (len == 0 || len > token_max)
        sfn_error_raisef(L, "ValidationError",
                         "pagination.starting_token: length must be 1..%d "
                         "bytes", (int)token_max);
    } else {
      lua_pushvalue(L, -2); /* tolstring on a copy keeps lua_next's key */
      sfn_unknown_key(L, -1, "pagination: unknown key",
                      "max_items, page_size, starting_token");
    }
    lua_pop(L, 1);
  }
}

/* Under lua_pcall: checks the params (1) with the token (2) as the
 * operation (3, light userdata) would send them. */
static int check_token_params(lua_State *L) {
  const sfn_operation *op = lua_touserdata(L, 3);
  lua_createtable(L, 0, 4);
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, op->paginator->input_token);
  op->push_body(L, lua_gettop(L));
  return 0;
}

/* Raises a ValidationError naming starting_token when the nextToken it
 * decodes to (at tok) could not be sent with the params at params_idx. */
static void check_decoded_token(lua_State *L, const sfn_operation *op,
                                int params_idx, int tok) {
  int status;
  lua_pushcfunction(L, check_token_params);
  lua_pushvalue(L, params_idx);
  lua_pushvalue(L, tok);
  lua_pushlightuserdata(L, (void *)op);
  status = lua_pcall(L, 3, 0, 0);
  if (status == LUA_OK) return;
  if (status == LUA_ERRMEM) lua_error(L);
  if (lua_type(L, -1) == LUA_TTABLE) lua_getfield(L, -1, "message");
  sfn_error_raisef(L, "ValidationError",
                   "pagination.starting_token: holds an unusable nextToken "
                   "(%s)", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                          : "unknown error");
}

/* Checks (params, pagination) for op and pushes a new sfn.Pager. */
static sfn_pager *pager_new(lua_State *L, int params_idx, int pag_idx,
                            const sfn_operation *op) {
  const sfn_paginator *pg = op->paginator;
  sfn_pagination pag;
  sfn_pager *p;
  long long amount = 0;
  int tok, state, carried;
  params_idx = lua_absindex(L, params_idx);
  pag_idx = lua_absindex(L, pag_idx);
  op->push_body(L, params_idx); /* the model's checks; the body is dropped */
  lua_pop(L, 1);
  check_pagination(L, pag_idx, &pag, SFN_TOKEN_MAX_FOR(pg->token_chars));
  /* the checked params but the token: what every request carries */
  lua_createtable(L, 0, 4);
  carried = lua_gettop(L);
  luaL_checkstack(L, 3, "pager params");
  lua_pushnil(L);
  while (lua_next(L, params_idx) != 0) {
    if (sfn_key_is(L, -2, pg->input_token)) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, carried);
  }
  lua_pushstring(L, pg->input_token);
  lua_rawget(L, params_idx);
  if (pag.starting_token != NULL && !lua_isnil(L, -1))
    sfn_error_raisef(L, "ValidationError",
                     "pagination.starting_token: cannot be combined with "
                     "params.%s", pg->input_token);
  /* the token of the first request */
  if (pag.starting_token != NULL) {
    size_t len;
    const char *s;
    lua_pop(L, 1);
    amount = sfn_token_decode_max(L, pag.starting_token,
                                  pag.starting_token_len,
                                  "pagination.starting_token",
                                  SFN_TOKEN_MAX_FOR(pg->token_chars));
    tok = lua_gettop(L);
    s = lua_type(L, tok) == LUA_TSTRING ? lua_tolstring(L, tok, &len) : NULL;
    if (s != NULL && !is_none_token(s, len))
      check_decoded_token(L, op, carried, tok);
  }
  tok = lua_gettop(L);
  if (pag.page_size > 0) {
    lua_pushinteger(L, (lua_Integer)pag.page_size);
    lua_setfield(L, carried, pg->limit_key);
  }

  p = lua_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  p->op = op;
  p->ref = LUA_NOREF;
  p->first = 1;
  p->max_items = pag.max_items;
  p->start_trunc = amount;
  luaL_setmetatable(L, SFN_PAGER_MT);
  lua_createtable(L, 0, 4);
  state = lua_gettop(L);
  lua_pushvalue(L, carried);
  lua_setfield(L, state, "params");
  lua_pushvalue(L, tok);
  lua_setfield(L, state, "token");
  p->ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the state table */
  lua_remove(L, tok);
  lua_remove(L, carried);
  return p;
}

/* Under lua_pcall: pager_new(params 1, pagination 2, op 3). */
static int new_pager_call(lua_State *L) {
  pager_new(L, 1, 2, lua_touserdata(L, 3));
  return 1;
}

/* pager_new whose errors name the operation. */
static sfn_pager *pager_new_named(lua_State *L, int params_idx, int pag_idx,
                                  const sfn_operation *op) {
  params_idx = lua_absindex(L, params_idx);
  pag_idx = lua_absindex(L, pag_idx);
  lua_pushcfunction(L, new_pager_call);
  lua_pushvalue(L, params_idx);
  lua_pushvalue(L, pag_idx);
  lua_pushlightuserdata(L, (void *)op);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
    sfn_operation_name_error(L, -1, op);
    lua_error(L);
  }
  return lua_touserdata(L, -1);
}

/* The paging operation named at idx (nil: ListMapRuns). */
static const sfn_operation *check_paging_op(lua_State *L, int idx) {
  const sfn_operation *op;
  if (lua_isnoneornil(L, idx)) return &sfn_op_list_map_runs;
  if (lua_type(L, idx) != LUA_TSTRING)
    sfn_error_raisef(L, "ValidationError",
                     "operation: expected a string, got %s",
                     luaL_typename(L, idx));
  op = sfn_operation_find(lua_tostring(L, idx));
  if (op == NULL || op->paginator == NULL)
    sfn_error_raisef(L, "ValidationError",
                     "operation: '%s' is not an operation that pages",
                     lua_tostring(L, idx));
  return op;
}

/* ---- sfn.Pager methods -------------------------------------------------- */

/** Creates a pager.
 * @function new_pager
 * @tparam table params the operation's params (ListMapRuns: executionArn,
 *   maxResults?, nextToken?)
 * @tparam[opt] table pagination { max_items=, page_size=, starting_token= }
 * @tparam[opt="ListMapRuns"] string operation "ListMapRuns", "ListExecutions"
 * @treturn sfn.Pager
 * @raise ValidationError */
static int l_new_pager(lua_State *L) {
  const sfn_operation *op;
  lua_settop(L, 3);
  op = check_paging_op(L, 3);
  pager_new_named(L, 1, 2, op);
  return 1;
}

/** The params of the next request, or nil when the iteration is over.
 * @function next_params
 * @treturn table|nil the params (ListMapRuns: { executionArn=, maxResults=?,
 *   nextToken=? }) */
static int l_next_params(lua_State *L) {
  sfn_pager *p = check_pager(L, 1);
  if (pager_over(p)) lua_pushnil(L);
  else push_params(L, p);
  return 1;
}

/** Takes the decoded page of the last request and applies boto3's rules
 * (starting truncation, max_items, resume token); edits it in place.
 * @function accept
 * @tparam table page { mapRuns=, nextToken=?, ResponseMetadata= }
 * @treturn table the same page
 * @raise ValidationError (bad page, pager done), ResponseError (repeated
 * nextToken) */
static int l_accept(lua_State *L) {
  sfn_pager *p = check_pager(L, 1);
  lua_settop(L, 2);
  if (p->fetching)
    sfn_error_raisef(L, "ValidationError", "accept: the pager is done");
  pager_accept(L, p, 2);
  return 1;
}

/** Releases the current page and ends the iteration.
 * @function close */
static int l_close(lua_State *L) {
  sfn_pager *p = check_pager(L, 1);
  p->done = 1;
  release_page(L, p);
  return 0;
}

static int l_pager_gc(lua_State *L) {
  sfn_pager *p = lua_touserdata(L, 1);
  if (p != NULL && p->ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, p->ref);
    p->ref = LUA_NOREF;
  }
  if (p != NULL) p->done = 1;
  return 0;
}

static int l_pager_tostring(lua_State *L) {
  sfn_pager *p = check_pager(L, 1);
  lua_pushfstring(L, "sfn.Pager (%s): %p", pager_over(p) ? "done" : "active",
                  (void *)p);
  return 1;
}

/* Methods first (upvalue 1), then the fields resume_token, done, pages,
 * items. */
static int l_pager_index(lua_State *L) {
  sfn_pager *p = check_pager(L, 1);
  const char *key;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  key = lua_tostring(L, 2);
  lua_getfield(L, lua_upvalueindex(1), key);
  if (!lua_isnil(L, -1)) return 1;
  if (strcmp(key, "resume_token") == 0) {
    if (push_state(L, p)) lua_getfield(L, -1, "resume");
  } else if (strcmp(key, "done") == 0) {
    lua_pushboolean(L, pager_over(p));
  } else if (strcmp(key, "pages") == 0) {
    lua_pushinteger(L, (lua_Integer)p->pages);
  } else if (strcmp(key, "items") == 0) {
    lua_pushinteger(L, (lua_Integer)p->items);
  } else if (strcmp(key, "operation") == 0) {
    lua_pushstring(L, p->op->name);
  } else if (strcmp(key, "result_key") == 0) {
    lua_pushstring(L, p->op->paginator->result_key);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

/* ---- iterator closures -------------------------------------------------- */

/* Fetches and accepts the next page through the client (upvalue 2); leaves
 * the page at the top, or returns 0 when closed meanwhile. A raise leaves
 * p->fetching set: the loop is over. */
static int fetch_page(lua_State *L, sfn_pager *p) {
  int base;
  release_page(L, p); /* one page in memory at a time */
  lua_pushvalue(L, lua_upvalueindex(2));
  base = lua_gettop(L);
  push_params(L, p);
  p->fetching = 1;
  sfn_client_fetch(L, base, p->op, base + 1);
  if (p->done) { /* closed by a Lua transport during the fetch */
    p->fetching = 0;
    return 0;
  }
  pager_accept(L, p, -1);
  p->fetching = 0;
  return 1;
}

/* for page in client:pages(params, pagination) */
static int l_pages_iter(lua_State *L) {
  sfn_pager *p = lua_touserdata(L, lua_upvalueindex(1));
  lua_settop(L, 0);
  if (pager_over(p) || !fetch_page(L, p)) {
    lua_pushnil(L);
    return 1;
  }
  return 1;
}

/* for run in client:items(params, pagination) */
static int l_items_iter(lua_State *L) {
  sfn_pager *p = lua_touserdata(L, lua_upvalueindex(1));
  for (;;) {
    lua_settop(L, 0);
    if (!push_state(L, p)) return 1; /* nil */
    lua_getfield(L, 1, "page");
    if (p->index > 0 && lua_type(L, 2) == LUA_TTABLE) {
      lua_getfield(L, 2, p->op->paginator->result_key);
      if (lua_type(L, 3) == LUA_TTABLE &&
          (size_t)p->index <= (size_t)lua_rawlen(L, 3)) {
        lua_rawgeti(L, 3, p->index++);
        return 1;
      }
    }
    lua_settop(L, 0);
    release_page(L, p);
    if (pager_over(p) || !fetch_page(L, p)) {
      lua_pushnil(L);
      return 1;
    }
  }
}

/* Returns iterator, pager, nil (and the pager as closing value on 5.4). */
static int open_iterator(lua_State *L, lua_CFunction iterator) {
  const sfn_operation *op;
  int pager;
  if (luaL_testudata(L, 1, SFN_CLIENT_MT) == NULL)
    sfn_error_raisef(L, "ValidationError",
                     "client: expected an sfn.Client, got %s (call methods "
                     "with ':')", luaL_typename(L, 1));
  lua_settop(L, 4);
  op = check_paging_op(L, 4);
  lua_settop(L, 3);
  pager_new_named(L, 2, 3, op);
  pager = lua_gettop(L);
  lua_pushvalue(L, pager);
  lua_pushvalue(L, 1);
  lua_pushcclosure(L, iterator, 2);
  lua_pushvalue(L, pager);
  lua_pushnil(L);
#if LUA_VERSION_NUM >= 504
  lua_pushvalue(L, pager);
  return 4;
#else
  return 3;
#endif
}

/** Iterates over pages, as boto3's paginator does.
 * @function pages
 * @tparam table params
 * @tparam[opt] table pagination { max_items=, page_size=, starting_token= }
 * @tparam[opt="ListMapRuns"] string operation an operation that pages
 * @treturn function iterator
 * @treturn sfn.Pager its state (resume_token, done, pages, items)
 * @raise sfn.Error */
static int l_client_pages(lua_State *L) {
  return open_iterator(L, l_pages_iter);
}

/** Iterates over the items (Map Runs, executions) across pages, one page
 * held at a time.
 * @function items
 * @tparam table params
 * @tparam[opt] table pagination { max_items=, page_size=, starting_token= }
 * @tparam[opt="ListMapRuns"] string operation an operation that pages
 * @treturn function iterator
 * @treturn sfn.Pager its state
 * @raise sfn.Error */
static int l_client_items(lua_State *L) {
  return open_iterator(L, l_items_iter);
}

static const luaL_Reg pager_methods[] = {
    {"next_params", l_next_params},
    {"accept", l_accept},
    {"close", l_close},
    {NULL, NULL}};

static const luaL_Reg pager_meta[] = {
    {"__gc", l_pager_gc},
    {"__tostring", l_pager_tostring},
#if LUA_VERSION_NUM >= 504
    {"__close", l_close},
#endif
    {NULL, NULL}};

static const luaL_Reg client_methods[] = {
    {"pages", l_client_pages},
    {"items", l_client_items},
    {NULL, NULL}};

void sfn_pager_open(lua_State *L) {
  luaL_newmetatable(L, SFN_PAGER_MT);
  luaL_setfuncs(L, pager_meta, 0);
  lua_createtable(L, 0, 3);
  luaL_setfuncs(L, pager_methods, 0);
  lua_pushcclosure(L, l_pager_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_new_pager);
  lua_setfield(L, -2, "new_pager");
  sfn_token_open(L);
  luaL_newmetatable(L, SFN_CLIENT_MT); /* made by sfn_client_open already */
  luaL_setfuncs(L, client_methods, 0);
  lua_pop(L, 1);
}

/* Shared plumbing for the libFuzzer targets in spec/fuzz/ (one header, no
 * separate object: every target includes it once).
 *
 * One lua_State per process (luaL_newstate + luaL_openlibs + sfn.core once),
 * reused by every run: lua_settop(L, 0) after each input and a full
 * collection every FUZZ_GC_EVERY runs, so that a C allocation that only a
 * collected userdata's __gc would free shows up as a leak (LeakSanitizer at
 * the next libFuzzer leak check) instead of hiding in a live heap. When the
 * binary is given files to replay (a crash or leak reproducer) rather than
 * directories to fuzz, it collects after every input so that a leak is
 * attributed to the input that caused it.
 *
 * The Lua allocator is wrapped: allocations can be made to fail after a
 * given count (fuzz_fail_after), which drives the "raises only on memory
 * errors, leaking nothing" paths of the core; and the Lua heap is capped
 * (FUZZ_LUA_HEAP_MAX) so a runaway input fails with LUA_ERRMEM rather than
 * with libFuzzer's RSS limit.
 *
 * Invariant checks call FUZZ_ASSERT, which prints the input's story and
 * abort()s: libFuzzer then saves the input as a crash-* artifact. */
#ifndef SFN_FUZZ_COMMON_H
#define SFN_FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "errors.h"

#ifndef FUZZ_GC_EVERY
#define FUZZ_GC_EVERY 256
#endif
/* Helpers a target may not use. */
#define FUZZ_UNUSED __attribute__((unused))

#define FUZZ_LUA_HEAP_MAX ((size_t)256 * 1024 * 1024)

int luaopen_sfn_core(lua_State *L);

static int fuzz_core_ref = LUA_NOREF; /* the sfn.core table */
static unsigned long fuzz_runs;
static unsigned long fuzz_gc_every = FUZZ_GC_EVERY;

/* ---- allocator -------------------------------------------------------- */

static size_t fuzz_heap;        /* bytes the Lua heap holds */
static long fuzz_allocs_left = -1; /* < 0: no failure planned */
static int fuzz_alloc_failed;

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (ptr == NULL) osize = 0; /* osize is a type tag for new blocks */
  if (nsize == 0) {
    free(ptr);
    fuzz_heap -= osize;
    return NULL;
  }
  if (nsize > osize) {
    if (fuzz_allocs_left == 0 || fuzz_heap - osize + nsize > FUZZ_LUA_HEAP_MAX) {
      fuzz_alloc_failed = 1;
      return NULL;
    }
    if (fuzz_allocs_left > 0) fuzz_allocs_left--;
  }
  {
    void *p = realloc(ptr, nsize);
    if (p == NULL) return NULL;
    fuzz_heap = fuzz_heap - osize + nsize;
    return p;
  }
}

static lua_State *fuzz_L;        /* the one state; a global, so LSan sees it */
static int fuzz_armed;

/* Makes the Lua allocator fail once n more growing allocations have been
 * made (n < 0: never again). Arming clears fuzz_alloc_failed; disarming
 * keeps it, so the run can still tell whether an allocation failed.
 *
 * Arming first collects everything and stops the collector until disarmed:
 * otherwise a GC step inside the armed window may run the __gc of an object
 * from an earlier run, Lua fails to call it (no memory for the call), drops
 * the finalizer with a warning, and the C resources it owned show up as a
 * leak of that earlier, innocent input. Emergency collections still run
 * (they never call finalizers). */
static void fuzz_fail_after(long n) {
  if (n >= 0) {
    if (!fuzz_armed) {
      lua_gc(fuzz_L, LUA_GCCOLLECT, 0);
      lua_gc(fuzz_L, LUA_GCSTOP, 0);
    }
    fuzz_armed = 1;
    fuzz_alloc_failed = 0;
  } else if (fuzz_armed) {
    fuzz_armed = 0;
    lua_gc(fuzz_L, LUA_GCRESTART, 0);
  }
  fuzz_allocs_left = n;
}

/* ---- failures --------------------------------------------------------- */

static const uint8_t *fuzz_input;
static size_t fuzz_input_len;

static void fuzz_dump_input(void) {
  size_t i, n = fuzz_input_len > 256 ? 256 : fuzz_input_len;
  fprintf(stderr, "input (%zu bytes%s): \"", fuzz_input_len,
          n < fuzz_input_len ? ", first 256 shown" : "");
  for (i = 0; i < n; i++) {
    unsigned c = fuzz_input[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') fputc((int)c, stderr);
    else fprintf(stderr, "\\x%02x", c);
  }
  fputs("\"\n", stderr);
}

static void fuzz_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "\n==FUZZ ASSERTION== %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fuzz_dump_input();
  abort();
}

#define FUZZ_ASSERT(cond, ...)                                   \
  do {                                                           \
    if (!(cond)) fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);     \
  } while (0)

/* ---- known findings ---------------------------------------------------- */

/* SFN_FUZZ_SKIP=name,name turns named checks off, to keep fuzzing past a
 * finding that is reported but not yet fixed (spec/fuzz/README.md lists the
 * names). Never set in CI. */
FUZZ_UNUSED static int fuzz_skip(const char *name) {
  const char *list = getenv("SFN_FUZZ_SKIP"), *p;
  size_t n = strlen(name);
  if (list == NULL) return 0;
  for (p = list; (p = strstr(p, name)) != NULL; p += n)
    if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
      return 1;
  return 0;
}

/* ---- the state -------------------------------------------------------- */

static int fuzz_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sets up the state; returns 0 (libFuzzer's LLVMFuzzerInitialize). */
static int fuzz_init(int *argc, char ***argv) {
  int i;
  for (i = 1; argc != NULL && i < *argc; i++)
    if ((*argv)[i][0] != '-' && fuzz_is_file((*argv)[i])) fuzz_gc_every = 1;
  if (getenv("SFN_FUZZ_GC_EVERY") != NULL)
    fuzz_gc_every = strtoul(getenv("SFN_FUZZ_GC_EVERY"), NULL, 10);
  if (fuzz_gc_every == 0) fuzz_gc_every = 1;
  fuzz_L = lua_newstate(fuzz_alloc, NULL);
  if (fuzz_L == NULL) abort();
  luaL_openlibs(fuzz_L);
  luaL_requiref(fuzz_L, "sfn.core", luaopen_sfn_core, 0);
  fuzz_core_ref = luaL_ref(fuzz_L, LUA_REGISTRYINDEX);
  lua_settop(fuzz_L, 0);
  return 0;
}

/* Starts a run: remembers the input for failure reports. */
static lua_State *fuzz_begin(const uint8_t *data, size_t size) {
  fuzz_input = data;
  fuzz_input_len = size;
  fuzz_fail_after(-1);
  fuzz_alloc_failed = 0;
  lua_settop(fuzz_L, 0);
  return fuzz_L;
}

/* Ends a run: empties the stack, and collects every fuzz_gc_every runs. */
static void fuzz_end(void) {
  fuzz_fail_after(-1);
  lua_settop(fuzz_L, 0);
  if (++fuzz_runs % fuzz_gc_every == 0) lua_gc(fuzz_L, LUA_GCCOLLECT, 0);
}

/* Pushes sfn.core's field name (a function). */
FUZZ_UNUSED static void fuzz_push_core(lua_State *L, const char *name) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, fuzz_core_ref);
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
}

/* What a raised value or a returned error must be: an sfn.Error with a
 * string code and message, or (only after an allocation failure) the memory
 * error message. Returns 1 for an sfn.Error. */
FUZZ_UNUSED static int fuzz_check_error_value(lua_State *L, int idx, int status,
                                  const char *where) {
  idx = lua_absindex(L, idx);
  if (status == LUA_ERRMEM) {
    FUZZ_ASSERT(fuzz_alloc_failed, "%s: memory error without a failed "
                "allocation", where);
    return 0;
  }
  if (fuzz_alloc_failed && lua_type(L, idx) == LUA_TSTRING &&
      strcmp(lua_tostring(L, idx), "not enough memory") == 0)
    return 0; /* Lua's own message for a memory error that C code rethrew */
  FUZZ_ASSERT(sfn_error_is(L, idx), "%s: raised a %s (%s), not an sfn.Error",
              where, luaL_typename(L, idx),
              lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "");
  lua_getfield(L, idx, "code");
  FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0,
              "%s: error without a code", where);
  lua_getfield(L, idx, "message");
  FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING, "%s: error without a message",
              where);
  lua_pop(L, 2);
  return 1;
}

/* Calls tostring(err) under pcall (the __tostring of sfn.Error) and checks
 * it is one line. */
FUZZ_UNUSED static void fuzz_check_tostring(lua_State *L, int idx) {
  static int skip = -1;
  int status;
  if (skip < 0) skip = fuzz_skip("one-line");
  idx = lua_absindex(L, idx);
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, idx);
  status = lua_pcall(L, 1, 1, 0);
  if (status == LUA_OK) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    FUZZ_ASSERT(s != NULL && (skip || (memchr(s, '\n', n) == NULL &&
                                       memchr(s, '\r', n) == NULL)),
                "tostring(err) is not one line");
  } else {
    FUZZ_ASSERT(status == LUA_ERRMEM || fuzz_alloc_failed,
                "tostring(err) raised");
  }
  lua_pop(L, 1);
}

#endif

/* Run by `make asan-test` in every Lua interpreter it starts (through
 * LUA_INIT_5_4, so arg and the command line stay as the specs expect), in an
 * environment where the clang ASan runtime is preloaded (LD_PRELOAD):
 *
 * - hands the sanitizer options meant for child processes
 *   (SFN_ASAN_CHILD_OPTIONS) to them: the interpreter under test runs with
 *   LeakSanitizer on, but the python3 oracles, fakes and proxies the specs
 *   start inherit the preloaded runtime (child Lua interpreters need it to
 *   load the ASan build of sfn.core) and LSan would fail them at exit for
 *   Python's own allocations. Children keep ASan/UBSan and the log_path, so
 *   a memory error in a child interpreter is still reported.
 * - pins the C modules named in SFN_ASAN_PIN (':'-separated paths) with
 *   RTLD_NODELETE, so that lua_close's dlclose does not unload them before
 *   LeakSanitizer runs at exit: a leak's stack then names the function and
 *   line instead of "<unknown module>".
 *
 * (The curl CLI hangs with the runtime preloaded; spec/standin.lua runs its
 * plumbing with LD_PRELOAD unset.) Built without sanitizers; not part of
 * sfn. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

int luaopen_sfn_asan_env(lua_State *L);

__attribute__((visibility("default"))) int luaopen_sfn_asan_env(lua_State *L) {
  const char *pin = getenv("SFN_ASAN_PIN");
  const char *child = getenv("SFN_ASAN_CHILD_OPTIONS");
  if (pin != NULL) {
    char path[4096];
    const char *p = pin;
    while (*p != '\0') {
      size_t n = strcspn(p, ":");
      if (n > 0 && n < sizeof path) {
        memcpy(path, p, n);
        path[n] = '\0';
        if (dlopen(path, RTLD_NOW | RTLD_NODELETE) == NULL)
          fprintf(stderr, "sfn_asan_env: cannot pin %s: %s\n", path, dlerror());
      }
      p += n;
      if (*p == ':') p++;
    }
  }
  if (child != NULL) {
    setenv("ASAN_OPTIONS", child, 1);
    setenv("LSAN_OPTIONS", "detect_leaks=0", 1);
  }
  lua_pushboolean(L, 1);
  return 1;
}

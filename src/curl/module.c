/* luaopen_sfn_curl: the libcurl transport as a module of its own, so that
 * only programs that send through libcurl load it (see curl_api.h).
 *   http_request(t)  one request, for the credential providers
 *   version()        libcurl's version string
 *   _api             the C interface for sfn.core (lightuserdata) */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>

#include "../compat.h"
#include "../curl_api.h"
#include "http.h"

#define SFN_EXPORT __attribute__((visibility("default")))

extern const sfn_curl_api sfn_curl_api_impl;

SFN_EXPORT int luaopen_sfn_curl(lua_State *L);

static int l_version(lua_State *L) {
  lua_pushstring(L, sfn_curl_api_impl.version_string());
  return 1;
}

/* Keeps this library mapped until the process exits. Clients hold function
 * pointers into it and are finalized at lua_close, which LuaJIT and 5.1 may
 * do after unloading the C libraries; libcurl's global state cannot be torn
 * down safely either. */
static void pin_library(void) {
  Dl_info self;
  if (dladdr((void *)&sfn_curl_api_impl, &self) != 0 && self.dli_fname != NULL)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
}

SFN_EXPORT int luaopen_sfn_curl(lua_State *L) {
  pin_library();
  /* sfn.Error's metatable belongs to sfn.core: load it first */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "sfn.core");
  lua_call(L, 1, 0);
  lua_newtable(L);
  sfn_http_open(L);
  lua_pushcfunction(L, l_version);
  lua_setfield(L, -2, "version");
  lua_pushlightuserdata(L, (void *)&sfn_curl_api_impl);
  lua_setfield(L, -2, "_api");
  return 1;
}

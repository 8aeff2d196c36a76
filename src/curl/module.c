/* luaopen_sfn_curl: the libcurl transport as a module of its own, so that
 * only programs that send through libcurl load it (see curl_api.h).
 *   http_request(t)  one request, for the credential providers
 *   version()        libcurl's version string
 *   _api             the C interface for sfn.core (lightuserdata) */
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

SFN_EXPORT int luaopen_sfn_curl(lua_State *L) {
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

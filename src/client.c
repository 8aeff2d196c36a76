#include "client.h"
void sfn_client_open(lua_State *L) { luaL_newmetatable(L, SFN_CLIENT_MT); lua_pop(L, 1); }

#include "request.h"
void sfn_request_open(lua_State *L) { (void)L; }

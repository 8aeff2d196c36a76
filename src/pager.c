/* placeholder until the real pager.c lands */
#include "pager.h"
void sfn_pager_open(lua_State *L) { (void)L; }

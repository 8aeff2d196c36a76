/* placeholder until the real stsxml.c lands */
#include "stsxml.h"
void sfn_stsxml_open(lua_State *L) { (void)L; }

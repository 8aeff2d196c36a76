/* placeholder until the real reply.c lands */
#include "reply.h"
void sfn_reply_open(lua_State *L) { (void)L; }
int sfn_reply_decode(lua_State *L, const sfn_reply *r) { (void)L; (void)r; return 0; }

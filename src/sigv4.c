/* placeholder until the real sigv4.c lands */
#include "sigv4.h"
void sfn_sigv4_open(lua_State *L) { (void)L; }
void sfn_sigv4_authorize(lua_State *L, sfn_sigv4_cache *c, const sfn_sigv4_request *r, int d) { (void)L; (void)c; (void)r; (void)d; }
void sfn_sigv4_cache_clear(sfn_sigv4_cache *c) { (void)c; }

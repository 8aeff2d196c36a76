/* DPoP proofs (ES256 JWTs) for `aws login` sessions, and the hex digests
 * that name credential cache files. */
#ifndef SFN_DPOP_H
#define SFN_DPOP_H

#include "compat.h"

/* Registers core.dpop_proof, core.sha1_hex and core.sha256_hex on the module
 * table at the top of the stack. */
void sfn_dpop_open(lua_State *L);

#endif

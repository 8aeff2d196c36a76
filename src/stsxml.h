/* Reading STS XML replies (AssumeRole, AssumeRoleWithWebIdentity) with expat. */
#ifndef SFN_STSXML_H
#define SFN_STSXML_H

#include "compat.h"

/* Registers core.parse_sts_xml on the module table at the top of the stack. */
void sfn_stsxml_open(lua_State *L);

#endif

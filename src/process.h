/* Running a credential_process command without a shell. */
#ifndef SFN_PROCESS_H
#define SFN_PROCESS_H

#include "compat.h"

/* Registers core.spawn on the module table at the top of the stack. */
void sfn_process_open(lua_State *L);

#endif

/* Reading local files (config, credentials, token files) safely. */
#ifndef SFN_FILES_H
#define SFN_FILES_H

#include "compat.h"

/* Registers core.read_file, core.file_type, core.write_file_atomic and core.mkdir_p on the module table at the top of the stack. */
void sfn_files_open(lua_State *L);

#endif

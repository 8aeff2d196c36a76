/* luaopen_sfn_core: assembles the module from each file's part. */
#include "client.h"
#include "compat.h"
#include "dpop.h"
#include "errors.h"
#include "engine.h"
#include "files.h"
#include "operations.h"
#include "pager.h"
#include "process.h"
#include "redact.h"
#include "reply.h"
#include "request.h"
#include "retry.h"
#include "shape.h"
#include "sigv4.h"
#include "stsxml.h"
#include "version.h"

#define SFN_EXPORT __attribute__((visibility("default")))

SFN_EXPORT int luaopen_sfn_core(lua_State *L);

SFN_EXPORT int luaopen_sfn_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, SFN_VERSION);
  lua_setfield(L, -2, "_VERSION");
  sfn_errors_open(L);
  sfn_sigv4_open(L);
  sfn_request_open(L);
  sfn_reply_open(L);
  sfn_shape_open(L);
  sfn_operations_open(L);
  sfn_retry_open(L);
  sfn_client_open(L);
  sfn_engine_open(L);
  sfn_pager_open(L);
  sfn_process_open(L);
  sfn_stsxml_open(L);
  sfn_files_open(L);
  sfn_redact_open(L);
  sfn_dpop_open(L);
  return 1;
}

/* luaopen_sfn_core: assembles the module from each file's part. */

/***
 * The C engine, sans-I/O: `require "sfn"` is what programs use; these are
 * the seams for custom transports (build a signed request, send it any way,
 * decode the reply). Every failure raises an `sfn.Error` (`core.Error` is its
 * metatable).
 * @module sfn.core
 * @usage
 * local core = require "sfn.core"
 * local method, url, headers, body = core.build_request(
 *   { endpoint = "https://states.us-east-1.amazonaws.com", region = "us-east-1",
 *     credentials = { access_key_id = key, secret_access_key = secret } },
 *   { executionArn = arn })
 * local status, reply_headers, reply_body = my_http(method, url, headers, body)
 * local page = core.decode_reply(status, reply_headers, reply_body)
 */
#include "client.h"
#include "compat.h"
#include "dpop.h"
#include "errors.h"
#include "engine.h"
#include "files.h"
#include "json.h"
#include "operations.h"
#include "pager.h"
#include "process.h"
#include "redact.h"
#include "reply.h"
#include "request.h"
#include "retry.h"
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
  sfn_json_open(L);
  return 1;
}

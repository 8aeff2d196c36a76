/* ListMapRuns parameters: validation, the awsJson1_0 body, endpoint URLs and
 * the signed header set. */
#ifndef SFN_REQUEST_H
#define SFN_REQUEST_H

#include <stddef.h>

#include "compat.h"
#include "sigv4.h"

#define SFN_TARGET "AWSStepFunctions.ListMapRuns"
#define SFN_CONTENT_TYPE "application/x-amz-json-1.0"

/* Validated params; the strings point into Lua strings that the caller keeps
 * reachable (the params table stays on the stack). */
typedef struct sfn_params {
  const char *execution_arn;
  size_t execution_arn_len;
  int has_max_results;
  long max_results;
  const char *next_token;  /* NULL when absent */
  size_t next_token_len;
} sfn_params;

/* Whether the value at idx is the string name, byte for byte ("a\0b" is
 * not "a"). */
int sfn_key_is(lua_State *L, int idx, const char *name);

/* Raises the ValidationError "<unknown> 'key' (expected <expected>)" for
 * the key at key_idx (a copy: a number key is converted in place). */
void sfn_unknown_key(lua_State *L, int key_idx, const char *unknown,
                     const char *expected);

/* Checks the params table at idx against the service model; raises a
 * ValidationError naming the field. */
void sfn_params_check(lua_State *L, int idx, sfn_params *out);

/* Pushes the compact JSON body holding only the params given. */
void sfn_params_push_body(lua_State *L, const sfn_params *params);

/* A parsed http(s) endpoint URL. */
typedef struct sfn_endpoint {
  int https;
  char url[512];   /* scheme://host[:port]/path as given, path defaulted to / */
  char host[300];  /* Host header value: host, plus :port when not default */
  char path[256];  /* raw path, "/" by default */
} sfn_endpoint;

/* Parses an endpoint URL; raises ConfigError when it is not http(s) or does
 * not fit. */
void sfn_endpoint_parse(lua_State *L, const char *url, sfn_endpoint *out);

/* Credentials read from a Lua table; strings point into that table. */
typedef struct sfn_credentials {
  const char *access_key_id;
  size_t access_key_id_len;
  const char *secret_access_key;
  size_t secret_access_key_len;
  const char *session_token;  /* NULL when absent */
  size_t session_token_len;
} sfn_credentials;

/* Reads and checks a credentials table at idx; raises CredentialsError. */
void sfn_credentials_check(lua_State *L, int idx, sfn_credentials *out);

/* Everything that varies per attempt. */
typedef struct sfn_attempt {
  long long now;             /* epoch seconds, clock offset applied */
  int attempt;               /* 1-based */
  int max_attempts;
  long long ttl;             /* epoch seconds the attempt may live to, by
                                the server's clock; 0 when no reply told us */
  const char *invocation_id; /* UUID kept across the attempts of one call */
  const char *user_agent;
  const char *target;        /* X-Amz-Target; NULL: ListMapRuns */
} sfn_attempt;

#define SFN_MAX_HEADERS 10

/* The headers of one attempt, in the spelling they go on the wire. Values
 * point into this struct, the endpoint, the credentials, the attempt and the
 * Authorization string that sfn_request_sign leaves on the Lua stack. */
typedef struct sfn_signed_headers {
  sfn_header list[SFN_MAX_HEADERS];
  size_t count;
  char amz_date[17];
  char sdk_request[64];
} sfn_signed_headers;

/* Signs one attempt: fills out (every header to send) and pushes the
 * Authorization value, which must stay on the stack while out is used.
 * Raises CredentialsError/ValidationError for header values holding CR/LF. */
void sfn_request_sign(lua_State *L, sfn_sigv4_cache *cache,
                      const sfn_endpoint *endpoint, const char *region,
                      const sfn_credentials *credentials,
                      const char *body, size_t body_len,
                      const sfn_attempt *attempt, sfn_signed_headers *out);

/* Fills out with random bytes: getrandom(2), else OpenSSL's generator
 * (whose first use costs a millisecond of seeding). */
void sfn_random_bytes(unsigned char *out, size_t n);

/* Writes a random (v4) UUID, 36 characters plus NUL. */
void sfn_uuid4(char out[37]);

/* Registers core.build_request on the module table at the top of the stack. */
void sfn_request_open(lua_State *L);

#endif

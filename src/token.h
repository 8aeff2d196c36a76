/* Resume tokens, byte-compatible with botocore's paginator: TokenEncoder
 * (base64 of json.dumps) and PageIterator._parse_starting_token (with its
 * fallback to the deprecated "token___index" form). */
#ifndef SFN_TOKEN_H
#define SFN_TOKEN_H

#include <stddef.h>

#include "compat.h"

/* Longest starting token accepted for an operation whose nextToken holds up
 * to chars characters, in bytes: room for the longest resume token we hand
 * out, chars astral characters escaped as surrogate pairs (12 bytes each in
 * JSON), the keys and the amount, in base64. */
#define SFN_TOKEN_MAX_FOR(chars) (4 * (4 * (chars) + 64))

/* ListMapRuns' limit (a 1,024-character nextToken); core.decode_token's. */
#define SFN_TOKEN_MAX SFN_TOKEN_MAX_FOR(1024)

/* Largest truncation amount kept exactly (2^53, exact in a double); larger
 * amounts are clamped to it, which drops a whole page just the same. */
#define SFN_TOKEN_AMOUNT_MAX 9007199254740992LL

/* Length (1..4) of the strictly valid UTF-8 sequence at p (before end), as
 * Python's strict decoder reads it (no overlongs, no surrogates, nothing
 * above U+10FFFF), storing its code point; 0 when there is none. */
size_t sfn_utf8_next(const unsigned char *p, const unsigned char *end,
                     unsigned long *cp);

/* Whether s is UTF-8 as Python's strict decoder accepts it (NUL is
 * allowed). */
int sfn_token_utf8_valid(const char *s, size_t len);

/* Pushes botocore's encoding of {"nextToken": token, "boto_truncate_amount":
 * amount}: token NULL gives null, amount < 0 leaves the key out. token must
 * be valid UTF-8 (sfn_token_utf8_valid) and stay reachable during the call.
 * Raises only on memory errors. */
void sfn_token_push_encoded(lua_State *L, const char *token, size_t len,
                            long long amount);

/* Decodes a starting token as botocore does: pushes the service nextToken
 * (a string) or nil, and returns the truncation amount (0 when absent).
 * Raises a ValidationError naming field for a token longer than
 * SFN_TOKEN_MAX, a deprecated token botocore rejects (more than one "___"),
 * or a negative deprecated amount. */
long long sfn_token_decode(lua_State *L, const char *s, size_t len,
                           const char *field);

/* sfn_token_decode with another length limit (max bytes, at least
 * SFN_TOKEN_MAX): what the pager uses for an operation's starting token. */
long long sfn_token_decode_max(lua_State *L, const char *s, size_t len,
                               const char *field, size_t max);

/* Registers core.encode_token and core.decode_token on the module table at
 * the top of the stack. */
void sfn_token_open(lua_State *L);

#endif

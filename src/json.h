/* Writing JSON text: the one string escaper (Python's json.dumps with
 * ensure_ascii=False, bytes that are not UTF-8 as U+FFFD), ISO 8601 dates,
 * and the AWS CLI's indented objects that the CLI prints. */
#ifndef SFN_JSON_H
#define SFN_JSON_H

#include <stddef.h>

#include "compat.h"

/* Most output bytes one input byte can take: a control byte is \u00XX. */
#define SFN_JSON_ESCAPE_MAX 6

/* Escapes the characters of s[0..n) that start in [*pos, limit) into out
 * (no quotes) and returns the bytes written, at most SFN_JSON_ESCAPE_MAX
 * per input byte; *pos ends at or past limit (a sequence that starts before
 * limit is read whole, up to n). Escapes '"', '\\' and bytes below 0x20
 * (\b \f \n \r \t, the others \u00XX), passes UTF-8 through, and writes
 * U+FFFD for each byte that does not belong to a well-formed sequence (RFC
 * 3629: no overlong forms, surrogates or code points above U+10FFFF). */
size_t sfn_json_escape(char *out, const char *s, size_t *pos, size_t limit,
                       size_t n);

/* Adds s as a JSON string literal (quotes included) to b. */
void sfn_json_add_string(luaL_Buffer *b, const char *s, size_t n);

/* Writes t (epoch seconds) as "YYYY-MM-DDTHH:MM:SS.mmmZ" plus NUL into
 * out, rounded to the millisecond; returns 0 when t is not finite or falls
 * outside years 0001..9999. */
int sfn_json_iso8601(double t, char out[25]);

/* Registers core.json_string, core.json_object and core.iso8601 on the
 * module table at the top of the stack. */
void sfn_json_open(lua_State *L);

#endif

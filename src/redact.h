/* Secrets out of everything we show: a secret key, session token or web
 * identity token must not reach an error field, a log record or the CLI's
 * output, whole or in part. */
#ifndef SFN_REDACT_H
#define SFN_REDACT_H

#include <stddef.h>

#include "compat.h"

/* Fragments of a secret this long or longer are redacted wherever they
 * appear: a cut (a message at 1,024 bytes, a reason phrase at 63) may have
 * left only part of it. Shorter secrets are redacted whole. */
#define SFN_REDACT_FRAGMENT 16

/* Pushes text with every run covered by a secret, or by a fragment of one,
 * replaced by "<redacted>"; returns 0 and pushes nothing when nothing is
 * covered. secrets may hold NULs for absent ones. */
int sfn_redact_push(lua_State *L, const char *text, size_t len,
                    const char *const *secrets, const size_t *lens,
                    size_t count);

/* Redacts every string field of the table at idx (an sfn.Error) in place. */
void sfn_redact_fields(lua_State *L, int idx, const char *const *secrets,
                       const size_t *lens, size_t count);

/* Registers core.redact_text(text, { secret, ... }). */
void sfn_redact_open(lua_State *L);

#endif

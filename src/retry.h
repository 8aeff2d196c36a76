/* The retry policy, one for every transport: standard mode's retry quota,
 * adaptive mode's client-side rate limiter (CUBIC, as the AWS SDKs do),
 * clock-skew correction and the one credentials refresh on ExpiredToken.
 * The engine (engine.c) consults it for every transport. */
#ifndef SFN_RETRY_H
#define SFN_RETRY_H

#include "compat.h"

#define SFN_RETRY_QUOTA 500

typedef struct sfn_rate_limiter {
  int enabled;               /* switched on by the first throttling reply */
  double fill_rate;          /* token bucket: tokens per second */
  double max_capacity;
  double capacity;
  double last_refill;        /* monotonic seconds; < 0 before the first */
  double measured_rate;      /* rate clocker: smoothed sends per second */
  double last_bucket;
  double count;
  double w_max;              /* CUBIC */
  double k;
  double last_fail;
} sfn_rate_limiter;

typedef struct sfn_retry {
  int adaptive;
  int v2;                    /* AWS_NEW_RETRIES_2026: botocore 1.43's opt-in
                                backoff bases, costs and x-amz-retry-after */
  int quota;                 /* retry tokens left */
  int last_cost;             /* what the last retry took; refunded on success */
  long long clock_offset;    /* server clock minus ours, seconds */
  sfn_rate_limiter limiter;
} sfn_retry;

typedef enum sfn_retry_action {
  SFN_GIVE_UP,
  SFN_RETRY_AFTER_DELAY,
  SFN_RETRY_NOW,             /* clock corrected: no delay, no quota */
  SFN_RETRY_REFRESHED        /* refresh the credentials, then try again */
} sfn_retry_action;

void sfn_retry_init(sfn_retry *r, int adaptive, int v2);

/* Epoch seconds by the server's clock, as far as we know it. */
long long sfn_retry_now(const sfn_retry *r);

/* After the attempt-th attempt failed with the sfn.Error at err_idx: what to
 * do next and, for SFN_RETRY_AFTER_DELAY, how long to wait first. server_date
 * is the reply's Date header or NULL; retry_after the reply's
 * x-amz-retry-after in seconds, or < 0 (used in the v2 mode only). *refreshed says whether the call
 * already refreshed its credentials once. May add `retry_quota_exhausted`
 * and a note in the message of the error. */
sfn_retry_action sfn_retry_decide(lua_State *L, sfn_retry *r, int err_idx,
                                  int attempt, int max_attempts,
                                  int *refreshed, const char *server_date,
                                  double retry_after, double *delay);

/* A call succeeded on its attempt-th attempt: refund quota. */
void sfn_retry_succeeded(sfn_retry *r, int attempt);

/* Adaptive mode: seconds to wait before sending (a token is reserved). */
double sfn_retry_send_delay(sfn_retry *r);

/* Adaptive mode: feeds a reply (throttled or not) to the rate limiter. */
void sfn_retry_on_reply(sfn_retry *r, int throttled);

/* An HTTP Date ("Tue, 24 Nov 2026 16:01:12 GMT") as epoch seconds, or -1. */
long long sfn_http_date_parse(const char *date);

/* Registers core.parse_http_date. */
void sfn_retry_open(lua_State *L);

/* Monotonic seconds. */
double sfn_monotonic(void);

#endif

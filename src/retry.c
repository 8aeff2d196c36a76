#define _GNU_SOURCE /* strptime, timegm */

/* Retry policy: quota (standard mode), rate limiter (adaptive mode), clock
 * skew, ExpiredToken refresh. The numbers follow botocore's retries package
 * (standard.py, adaptive.py, bucket.py). */
#include "retry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "request.h"

#define RETRY_COST 5
#define TIMEOUT_RETRY_COST 10
/* AWS_NEW_RETRIES_2026 (botocore 1.43 retries/standard.py, opt-in) */
#define V2_RETRY_COST 14
#define V2_THROTTLING_RETRY_COST 5
#define V2_THROTTLING_BASE 1.0
#define V2_BASE 0.05
#define V2_RETRY_AFTER_MAX_ADDITIONAL 5.0
#define NO_RETRY_INCREMENT 1
#define MAX_BACKOFF_SECONDS 20.0
#define MAX_SKEW_SECONDS 240 /* 4 minutes */

/* CUBIC and the rate clocker, as in botocore's adaptive mode. */
#define CUBIC_SCALE 0.4
#define CUBIC_BETA 0.7
#define CLOCK_SMOOTHING 0.8
#define CLOCK_BUCKETS_PER_SECOND 2.0
#define MIN_FILL_RATE 0.5
#define MAX_RATE_ADJUST_SCALE 2.0

double sfn_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cubic_zero_point(const sfn_rate_limiter *l) {
  return cbrt(l->w_max * (1 - CUBIC_BETA) / CUBIC_SCALE);
}

static void bucket_refill(sfn_rate_limiter *l, double now) {
  if (l->last_refill >= 0) {
    l->capacity += (now - l->last_refill) * l->fill_rate;
    if (l->capacity > l->max_capacity) l->capacity = l->max_capacity;
  }
  l->last_refill = now;
}

static void bucket_set_max_rate(sfn_rate_limiter *l, double rate, double now) {
  bucket_refill(l, now);
  l->fill_rate = rate > MIN_FILL_RATE ? rate : MIN_FILL_RATE;
  l->max_capacity = rate >= 1 ? rate : 1;
  if (l->capacity > l->max_capacity) l->capacity = l->max_capacity;
}

void sfn_retry_init(sfn_retry *r, int adaptive, int v2) {
  double now = sfn_monotonic();
  memset(r, 0, sizeof *r);
  r->adaptive = adaptive;
  r->v2 = v2;
  r->quota = SFN_RETRY_QUOTA;
  r->limiter.last_refill = -1;
  r->limiter.last_bucket = floor(now);
  r->limiter.last_fail = now;
  bucket_set_max_rate(&r->limiter, 1, now);
}

long long sfn_retry_now(const sfn_retry *r) {
  return (long long)time(NULL) + r->clock_offset;
}

long long sfn_http_date_parse(const char *date) {
  struct tm tm;
  const char *end;
  if (date == NULL || date[0] == '\0') return -1;
  memset(&tm, 0, sizeof tm);
  end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == NULL) return -1;
  return (long long)timegm(&tm);
}

static int field_is(lua_State *L, int idx, const char *name, const char *value) {
  int is;
  lua_getfield(L, idx, name);
  is = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), value) == 0;
  lua_pop(L, 1);
  return is;
}

static int message_has(lua_State *L, int idx, const char *text) {
  int has;
  lua_getfield(L, idx, "message");
  has = lua_type(L, -1) == LUA_TSTRING && strstr(lua_tostring(L, -1), text) != NULL;
  lua_pop(L, 1);
  return has;
}

/* Whether the error blames the request's time. */
static int is_skew_error(lua_State *L, int idx) {
  return field_is(L, idx, "code", "RequestTimeTooSkewed") ||
         field_is(L, idx, "code", "RequestExpired") ||
         field_is(L, idx, "code", "RequestInTheFuture") ||
         field_is(L, idx, "code", "AuthFailure") ||
         (field_is(L, idx, "code", "InvalidSignatureException") &&
          (message_has(L, idx, "Signature expired") ||
           message_has(L, idx, "Signature not yet current")));
}

/* Records the server's clock when it is more than 4 minutes from ours. */
static int corrected_clock(lua_State *L, sfn_retry *r, int err_idx,
                           const char *server_date) {
  long long server = sfn_http_date_parse(server_date), skew;
  if (server < 0 || !is_skew_error(L, err_idx)) return 0;
  skew = server - (long long)time(NULL);
  if (llabs(skew) <= MAX_SKEW_SECONDS || skew == r->clock_offset) return 0;
  r->clock_offset = skew;
  return 1;
}

/* rand() * min(base * 2^(attempt-1), 20): full jitter. */
static double backoff_seconds(int attempt, double base) {
  unsigned int bits = 0;
  double cap = base * (attempt > 6 ? MAX_BACKOFF_SECONDS
                                   : (double)(1u << (attempt - 1)));
  if (cap > MAX_BACKOFF_SECONDS) cap = MAX_BACKOFF_SECONDS;
  sfn_random_bytes((unsigned char *)&bits, sizeof bits);
  return cap * ((double)bits / 4294967296.0);
}

static void note_quota_exhausted(lua_State *L, int err_idx) {
  lua_pushboolean(L, 1);
  lua_setfield(L, err_idx, "retry_quota_exhausted");
  lua_getfield(L, err_idx, "message");
  lua_pushfstring(L, "%s (not retried: the client's retry quota is used up)",
                  lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
  lua_setfield(L, err_idx, "message");
  lua_pop(L, 1);
}

sfn_retry_action sfn_retry_decide(lua_State *L, sfn_retry *r, int err_idx,
                                  int attempt, int max_attempts,
                                  int *refreshed, const char *server_date,
                                  double retry_after, double *delay) {
  int retryable, cost, throttling;
  err_idx = lua_absindex(L, err_idx);
  *delay = 0;
  if (attempt >= max_attempts) return SFN_GIVE_UP;
  if (corrected_clock(L, r, err_idx, server_date)) return SFN_RETRY_NOW;
  if (!*refreshed && field_is(L, err_idx, "code", "ExpiredTokenException")) {
    *refreshed = 1;
    return SFN_RETRY_REFRESHED;
  }
  lua_getfield(L, err_idx, "retryable");
  retryable = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (!retryable) return SFN_GIVE_UP;
  lua_getfield(L, err_idx, "code");
  throttling = sfn_error_code_throttling(lua_tostring(L, -1));
  lua_pop(L, 1);
  if (r->v2)
    cost = throttling ? V2_THROTTLING_RETRY_COST : V2_RETRY_COST;
  else
    cost = field_is(L, err_idx, "code", "TimeoutError") ? TIMEOUT_RETRY_COST
                                                        : RETRY_COST;
  if (r->quota < cost) {
    note_quota_exhausted(L, err_idx);
    return SFN_GIVE_UP;
  }
  r->quota -= cost;
  r->last_cost = cost;
  if (!r->v2) {
    *delay = backoff_seconds(attempt, 1.0);
    return SFN_RETRY_AFTER_DELAY;
  }
  *delay = backoff_seconds(attempt, throttling ? V2_THROTTLING_BASE : V2_BASE);
  /* x-amz-retry-after is honoured between the backoff and 5 s beyond it */
  if (retry_after >= 0) {
    double most = *delay + V2_RETRY_AFTER_MAX_ADDITIONAL;
    double wanted = retry_after < most ? retry_after : most;
    if (wanted > *delay) *delay = wanted;
  }
  return SFN_RETRY_AFTER_DELAY;
}

void sfn_retry_succeeded(sfn_retry *r, int attempt) {
  r->quota += attempt > 1 ? r->last_cost : NO_RETRY_INCREMENT;
  if (r->quota > SFN_RETRY_QUOTA) r->quota = SFN_RETRY_QUOTA;
  r->last_cost = 0;
}

double sfn_retry_send_delay(sfn_retry *r) {
  sfn_rate_limiter *l = &r->limiter;
  double wait;
  if (!r->adaptive || !l->enabled) return 0;
  bucket_refill(l, sfn_monotonic());
  wait = l->capacity >= 1 ? 0 : (1 - l->capacity) / l->fill_rate;
  l->capacity -= 1; /* reserved: the wait refills it */
  return wait;
}

/* Smoothed sends per second, measured in half-second buckets. */
static double clock_record(sfn_rate_limiter *l, double now) {
  double bucket = floor(now * CLOCK_BUCKETS_PER_SECOND) / CLOCK_BUCKETS_PER_SECOND;
  l->count += 1;
  if (bucket > l->last_bucket) {
    double rate = l->count / (bucket - l->last_bucket);
    l->measured_rate = rate * CLOCK_SMOOTHING + l->measured_rate * (1 - CLOCK_SMOOTHING);
    l->count = 0;
    l->last_bucket = bucket;
  }
  return l->measured_rate;
}

void sfn_retry_on_reply(sfn_retry *r, int throttled) {
  sfn_rate_limiter *l = &r->limiter;
  double now, measured, rate;
  if (!r->adaptive) return;
  now = sfn_monotonic();
  measured = clock_record(l, now);
  if (!throttled) {
    double dt = now - l->last_fail - l->k;
    rate = CUBIC_SCALE * dt * dt * dt + l->w_max;
  } else {
    double current = l->enabled && l->fill_rate < measured ? l->fill_rate : measured;
    l->w_max = current;
    l->k = cubic_zero_point(l);
    l->last_fail = now;
    rate = current * CUBIC_BETA;
    l->enabled = 1;
  }
  if (rate > MAX_RATE_ADJUST_SCALE * measured) rate = MAX_RATE_ADJUST_SCALE * measured;
  bucket_set_max_rate(l, rate, now);
}

/** An HTTP Date header as epoch seconds.
 * @function parse_http_date
 * @tparam string date e.g. "Tue, 24 Nov 2026 16:01:12 GMT"
 * @treturn number|nil */
static int l_parse_http_date(lua_State *L) {
  long long t = sfn_http_date_parse(luaL_checkstring(L, 1));
  if (t < 0) return 0;
  lua_pushnumber(L, (lua_Number)t);
  return 1;
}

void sfn_retry_open(lua_State *L) {
  lua_pushcfunction(L, l_parse_http_date);
  lua_setfield(L, -2, "parse_http_date");
}

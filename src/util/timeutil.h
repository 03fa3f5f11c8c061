/* SPDX-License-Identifier: Apache-2.0 */
/* Time stamps as Docker writes them: RFC 3339 in UTC with nanoseconds
 * ("2024-05-01T12:34:56.123456789Z", Go's RFC3339Nano with fixed width). */
#ifndef BERTH_UTIL_TIMEUTIL_H
#define BERTH_UTIL_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/* TS formatted as above; the caller frees the string. */
char *berth_time_rfc3339nano(const struct timespec *ts);
/* The same for CLOCK_REALTIME now. */
char *berth_time_now_rfc3339nano(void);
/* Seconds since the epoch of the "YYYY-MM-DDTHH:MM:SS" that S starts with
 * (read as UTC; fractions and zone are not read); 0 when S is NULL or does
 * not start so. */
int64_t berth_time_parse_rfc3339_sec(const char *s);

#endif

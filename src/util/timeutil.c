/* SPDX-License-Identifier: Apache-2.0 */
#include "timeutil.h"

#include <time.h>

#include "xalloc.h"

char *berth_time_rfc3339nano(const struct timespec *ts)
{
        struct tm tm;
        char buf[64];

        gmtime_r(&ts->tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, ts->tv_nsec);
}

char *berth_time_now_rfc3339nano(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return berth_time_rfc3339nano(&ts);
}

int64_t berth_time_parse_rfc3339_sec(const char *s)
{
        struct tm tm = {0};

        if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
                return 0;
        return (int64_t)timegm(&tm);
}

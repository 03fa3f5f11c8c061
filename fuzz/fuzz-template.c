/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the CLI's --format engine (src/cli/template.c, a
 * subset of Go's text/template): cli_tmpl_parse, then cli_tmpl_exec over
 * JSON data into /dev/null.
 *
 * Input: the template source, then optionally a NUL byte and a JSON
 * document used as dot; without one (or when it does not parse) dot is a
 * fixed `docker inspect`-like object. Sizes are small on purpose: a
 * template may legitimately multiply its output ({{range}} in {{range}}). */
#include <fcntl.h>
#include <string.h>

#include "cli/template.h"
#include "fuzz-common.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"

#define MAX_TEMPLATE 2048
#define MAX_DATA     4096

static const char default_data[] =
    "{\"Id\":\"4f66ad9a0b2e\",\"Names\":[\"/web\",\"/web2\"],\"Image\":\"busybox\","
    "\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":4242,\"ExitCode\":0},"
    "\"Config\":{\"Env\":[\"A=1\",\"PATH=/bin\"],\"Cmd\":[\"sh\",\"-c\",\"echo hi\"],"
    "\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Tty\":false},\"Size\":1.5e3,\"Nil\":null,"
    "\"Ports\":[{\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}],"
    "\"Mounts\":[],\"Created\":1700000000}";

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cleanup_tmpl struct cli_tmpl *t = NULL;
        cleanup_json json_object *dot = NULL;
        cleanup_free char *src = NULL;
        berth_error *err = NULL;
        const uint8_t *nul;
        size_t src_len;
        int r;

        if (devnull == NULL) {
                devnull = fopen("/dev/null", "we");
                if (devnull == NULL)
                        abort();
        }
        nul = memchr(data, '\0', size);
        src_len = nul != NULL ? (size_t)(nul - data) : size;
        if (src_len > MAX_TEMPLATE || size - src_len > MAX_DATA + 1)
                return 0;
        src = fuzz_strndup(data, src_len);
        if (nul != NULL && size - src_len > 1) {
                r = berth_json_parse((const char *)nul + 1, size - src_len - 1, "data", &dot, &err);
                fuzz_check_err(r, &err);
        }
        if (dot == NULL) {
                r = berth_json_parse(default_data, strlen(default_data), "data", &dot, &err);
                fuzz_check_err(r, &err);
                fuzz_assert(r == 0);
        }

        r = cli_tmpl_parse(src, &t, &err);
        if (r < 0)
                fuzz_assert(err != NULL && strncmp(err->msg, "template: ", 10) == 0);
        fuzz_check_err(r, &err);
        if (r < 0)
                return 0;
        fuzz_assert(t != NULL);
        r = cli_tmpl_exec(t, dot, devnull, &err);
        fuzz_check_err(r, &err);
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* inspect, container inspect, image inspect: indented JSON as docker prints
 * it, or --format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

/* Go's json.MarshalIndent(v, "", "    ") with its HTML escaping. */
static void put_string(FILE *f, const char *s, size_t len)
{
        fputc('"', f);
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];
                switch (ch) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '<':
                case '>':
                case '&':
                        fprintf(f, "\\u%04x", ch);
                        break;
                default:
                        if (ch < 0x20)
                                fprintf(f, "\\u%04x", ch);
                        else
                                fputc(ch, f);
                }
        }
        fputc('"', f);
}

void json_print_indent(FILE *f, json_object *o, int depth);
void json_print_indent(FILE *f, json_object *o, int depth)
{
        if (o == NULL) {
                fputs("null", f);
                return;
        }
        switch (json_object_get_type(o)) {
        case json_type_string:
                put_string(f, json_object_get_string(o), (size_t)json_object_get_string_len(o));
                break;
        case json_type_array: {
                size_t n = json_object_array_length(o);
                if (n == 0) {
                        fputs("[]", f);
                        break;
                }
                fputs("[\n", f);
                for (size_t i = 0; i < n; i++) {
                        fprintf(f, "%*s", (depth + 1) * 4, "");
                        json_print_indent(f, json_object_array_get_idx(o, i), depth + 1);
                        fputs(i + 1 < n ? ",\n" : "\n", f);
                }
                fprintf(f, "%*s]", depth * 4, "");
                break;
        }
        case json_type_object: {
                int n = json_object_object_length(o), i = 0;
                if (n == 0) {
                        fputs("{}", f);
                        break;
                }
                fputs("{\n", f);
                json_object_object_foreach(o, k, v)
                {
                        fprintf(f, "%*s", (depth + 1) * 4, "");
                        put_string(f, k, strlen(k));
                        fputs(": ", f);
                        json_print_indent(f, v, depth + 1);
                        fputs(++i < n ? ",\n" : "\n", f);
                }
                fprintf(f, "%*s}", depth * 4, "");
                break;
        }
        case json_type_null:
        case json_type_boolean:
        case json_type_double:
        case json_type_int:
                fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), f);
                break;
        }
}

enum kind { K_ANY, K_CONTAINER, K_IMAGE };

static int do_inspect(struct api_cli *c, int argc, char **argv, enum kind kind, const char *name,
                      const char *desc)
{
        const char *format = NULL, *type = NULL;
        bool size = false;
        const struct flag flags[] = {
            {'f', "format", F_STRING, &format, "Format output using a custom template", NULL},
            {'s', "size", F_BOOL, &size, "Display total file sizes if the type is container", NULL},
            {0, "type", F_STRING, &type, "Only inspect objects of the given type", NULL},
        };
        const struct command cmd = {name,
                                    "[OPTIONS] NAME|ID [NAME|ID...]",
                                    desc,
                                    1,
                                    -1,
                                    false,
                                    NULL,
                                    flags,
                                    kind == K_ANY         ? 3
                                    : kind == K_CONTAINER ? 2
                                                          : 1};
        cleanup_free char **args = NULL;
        cleanup_tmpl struct cli_tmpl *t = NULL;
        cleanup_json json_object *found = json_object_new_array();
        int ex, rc = 0;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        if (type != NULL) {
                if (strcmp(type, "container") == 0)
                        kind = K_CONTAINER;
                else if (strcmp(type, "image") == 0)
                        kind = K_IMAGE;
                else {
                        fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
                        return 1;
                }
        }
        if (format != NULL && strcmp(format, "json") != 0) {
                bool table;
                cleanup_free char *tmpl = format_prepare(format, &table);
                cleanup_error berth_error *err = NULL;
                if (cli_tmpl_parse(tmpl, &t, &err) < 0) {
                        fprintf(stderr, "template parsing error: %s\n", err->msg);
                        return 64;
                }
        }
        if (api_client(c) == NULL)
                return 1;
        cleanup_free char *missing = NULL;
        for (char **a = args; *a; a++) {
                cleanup_free char *n = berth_url_escape(*a);
                json_object *o = NULL;
                cleanup_error berth_error *err = NULL;
                int r = -1;
                if (kind != K_IMAGE) {
                        cleanup_free char *p =
                            xasprintf("/containers/%s/json%s", n, size ? "?size=1" : "");
                        r = berth_client_call(c->client, "GET", p, NULL, &o, &err);
                }
                if (r < 0 && kind != K_CONTAINER &&
                    (kind == K_IMAGE || berth_error_status(err) == ENOENT)) {
                        berth_error_freep(&err);
                        cleanup_free char *p = xasprintf("/images/%s/json", *a);
                        r = berth_client_call(c->client, "GET", p, NULL, &o, &err);
                }
                if (r < 0) {
                        if (berth_error_status(err) == ENOENT) {
                                if (kind == K_ANY)
                                        fprintf(stderr, "Error: No such object: %s\n", *a);
                                else if (kind == K_CONTAINER)
                                        fprintf(stderr, "Error: No such container: %s\n", *a);
                                else
                                        fprintf(stderr, "Error: No such image: %s\n", *a);
                        } else {
                                fprintf(stderr, "%s\n", err->msg);
                        }
                        rc = 1;
                        continue;
                }
                json_object_array_add(found, o);
        }
        if (t != NULL) {
                for (size_t i = 0; i < json_object_array_length(found); i++) {
                        cleanup_error berth_error *err = NULL;
                        if (cli_tmpl_exec(t, json_object_array_get_idx(found, i), stdout, &err) <
                            0) {
                                fprintf(stderr, "%s\n", err->msg);
                                return 1;
                        }
                        fputc('\n', stdout);
                }
        } else if (format != NULL) { /* --format json: one compact line each */
                for (size_t i = 0; i < json_object_array_length(found); i++)
                        printf("%s\n",
                               json_object_to_json_string_ext(json_object_array_get_idx(found, i),
                                                              JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
        } else {
                json_print_indent(stdout, found, 0);
                fputc('\n', stdout);
        }
        return rc;
}

int cmd_inspect(struct api_cli *c, int argc, char **argv)
{
        return do_inspect(c, argc, argv, K_ANY, "inspect",
                          "Return low-level information on Docker objects");
}

int cmd_container_inspect(struct api_cli *c, int argc, char **argv)
{
        return do_inspect(c, argc, argv, K_CONTAINER, "container inspect",
                          "Display detailed information on one or more containers");
}

int cmd_image_inspect_api(struct api_cli *c, int argc, char **argv)
{
        return do_inspect(c, argc, argv, K_IMAGE, "image inspect",
                          "Display detailed information on one or more images");
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The `berth` CLI: shared helpers of the verb files. */
#ifndef BERTH_CLI_CLI_H
#define BERTH_CLI_CLI_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"

struct cli {
        const char *data_root;
        struct berth_image_store *store;
};

/* Open the store on first use; prints the error and returns NULL. */
struct berth_image_store *cli_store(struct cli *c);
/* Print "Error: <msg>" to stderr and free the error; returns 1. */
int cli_error(berth_error **err);
int cli_usage(const char *usage);

/* A tiny getopt: OPTS lists the options taking a value as "-o|--output=" and
 * flags as "-q|--quiet". Returns the index of the first positional. */
struct cli_opt {
        const char *short_name; /* "-q" or NULL */
        const char *long_name;  /* "--quiet" */
        bool takes_value;
        const char **value; /* for options with a value (the last wins) */
        char ***values;     /* or collect every value here */
        bool *flag;         /* for flags */
};
int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n, char ***ret_pos);

/* docker's units: "4.26MB", "About an hour ago". */
char *cli_human_size(int64_t bytes);
char *cli_human_since(int64_t unix_time);

/* Go-template subset: {{.A.B}}, {{json .X}}, {{.X}} with "table" prefix
 * handled by the caller; "\t" and "\n" escapes. */
char *cli_template(const char *tmpl, json_object *data);

/* A tabwriter like Go's (minwidth 10, padding 3). */
struct cli_table;
struct cli_table *cli_table_new(void);
void cli_table_row(struct cli_table *t, const char *tab_separated);
void cli_table_print(struct cli_table *t);

int cmd_images(struct cli *c, int argc, char **argv);
int cmd_image_inspect(struct cli *c, int argc, char **argv);
int cmd_history(struct cli *c, int argc, char **argv);
int cmd_tag(struct cli *c, int argc, char **argv);
int cmd_rmi(struct cli *c, int argc, char **argv);
int cmd_save(struct cli *c, int argc, char **argv);
int cmd_load(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_system_df(struct cli *c, int argc, char **argv);
int cmd_image_prune(struct cli *c, int argc, char **argv);
int cmd_image_check(struct cli *c, int argc, char **argv);
int cmd_image_base(struct cli *c, int argc, char **argv);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Type checks of the JSON bodies the API accepts, before they reach the
 * engine: a wrong type is a 400 with a message naming the field, as
 * dockerd's decoder gives. Pure functions (unit-tested). */
#ifndef BERTH_API_BODY_CHECK_H
#define BERTH_API_BODY_CHECK_H

#include <json-c/json.h>

/* Each returns NULL when BODY is acceptable, else a newly allocated
 * message. */
char *api_check_container_config(json_object *body); /* POST /containers/create */
char *api_check_host_config(json_object *body);      /* HostConfig, POST /containers/{id}/update */
char *api_check_exec_config(json_object *body);      /* POST /containers/{id}/exec */
char *api_check_exec_start(json_object *body);       /* POST /exec/{id}/start */

#endif

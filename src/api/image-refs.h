/* SPDX-License-Identifier: Apache-2.0 */
/* What the image endpoints share with /system/df (defined in images.c). */
#ifndef BERTH_API_IMAGE_REFS_H
#define BERTH_API_IMAGE_REFS_H

#include <json-c/json.h>

/* REFS (NULL-terminated, may be NULL) as a new JSON array of their familiar
 * forms, as Docker shows RepoTags and RepoDigests ("busybox:latest" for
 * "docker.io/library/busybox:latest"). */
json_object *api_familiar_refs(char *const *refs);

#endif

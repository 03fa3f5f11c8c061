/* SPDX-License-Identifier: Apache-2.0 */
/* Hooks of the shim-facing engine files (attach.c, logs.c) that the
 * lifecycle calls. Engine-internal. */
#ifndef BERTH_ENGINE_SHIM_IO_H
#define BERTH_ENGINE_SHIM_IO_H

#include <stdint.h>

struct berth_container;

/* Call between berth_shim_spawn() (container created, init waiting) and
 * berth_shim_start(): connects every attacher that is waiting for the
 * container to start (docker run / start -a attach before start) to the
 * shim, so that they see the output from its first byte. Call WITHOUT
 * c->lock held. Cheap when nobody waits. */
void berth_engine_attach_prestart(struct berth_container *c);

/* Call when the container is removed (or its start failed): pending
 * attachers give up and their streams end. Call WITHOUT c->lock held. */
void berth_engine_attach_cancel(struct berth_container *c);

/* Parse a docker log-opts size ("10m", "1g", "512k", "100") into bytes;
 * -EINVAL when malformed. */
int berth_log_parse_size(const char *s, int64_t *ret);

#endif

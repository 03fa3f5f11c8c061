/* SPDX-License-Identifier: Apache-2.0 */
/* Hooks of the shim-facing engine files (attach.c, logs.c) that the
 * lifecycle calls. Engine-internal. */
#ifndef BERTH_ENGINE_SHIM_IO_H
#define BERTH_ENGINE_SHIM_IO_H

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

struct berth_logs_opts;
/* Write the json-file log at LOG_PATH (and its rotated files) to OUT_FD as
 * `docker logs` shows it (options as for berth_engine_container_logs). With
 * o->follow, keeps following the live file across rotations until
 * FOLLOW_END_FD (when >= 0) becomes readable (the shim's WAIT connection:
 * the container exited), o->until_ns passes, or OUT_FD's peer goes away.
 * Returns 0, or < 0 (-EPIPE when the peer went away). */
int berth_logs_write(const char *log_path, const struct berth_logs_opts *o, int out_fd,
                     int follow_end_fd, berth_error **err);

#endif

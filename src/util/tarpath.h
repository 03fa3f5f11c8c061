/* SPDX-License-Identifier: Apache-2.0 */
/* Tar entry names, as the layer applier and `berth cp` read them. */
#ifndef BERTH_UTIL_TARPATH_H
#define BERTH_UTIL_TARPATH_H

/* NAME made relative and canonical: leading "/", "." and empty components
 * dropped ("./a//b/" -> "a/b", "/" -> ""). NULL when a component is "..":
 * the caller refuses the entry. The result is freed by the caller. */
char *berth_tar_name_normalise(const char *name);

#endif

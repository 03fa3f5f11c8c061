/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for berth_layer_apply(): any input, plain or
 * compressed, in both modes. Besides the sanitizers, it checks the one
 * property that matters most: nothing is ever created outside the root.
 * Build: make -C fuzz (clang); run: fuzz/fuzz-layer-apply -max_len=65536 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/layer.h"
#include "util/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[64];

/* The base directory must hold exactly "root" after every run. */
static void check_base(void)
{
        DIR *d = opendir(base);
        struct dirent *de;
        if (d == NULL)
                abort();
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    strcmp(de->d_name, "root") == 0)
                        continue;
                fprintf(stderr, "escape: `%s/%s` was created\n", base, de->d_name);
                abort();
        }
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (base[0] == '\0') {
                strcpy(base, "/tmp/berth-fuzz-XXXXXX");
                if (mkdtemp(base) == NULL)
                        abort();
        }
        int fd = memfd_create("fuzz", MFD_CLOEXEC);
        if (fd < 0 || berth_write_all(fd, data, size) < 0)
                abort();
        for (unsigned flags = 0; flags <= BERTH_LAYER_APPLY_OVERLAY; flags++) {
                char root[96];
                snprintf(root, sizeof(root), "%s/root", base);
                (void)berth_rm_rf(root, NULL);
                if (berth_mkdir_p(root, 0755, NULL) < 0)
                        abort();
                int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (rfd < 0)
                        abort();
                berth_error *err = NULL;
                struct berth_layer_apply_stats st;
                (void)lseek(fd, 0, SEEK_SET);
                int r = berth_layer_apply(rfd, fd, BERTH_LAYER_AUTO, flags, &st, &err);
                if (r < 0 && err == NULL)
                        abort(); /* every failure carries a message */
                berth_error_free(err);
                close(rfd);
                check_base();
        }
        close(fd);
        return 0;
}

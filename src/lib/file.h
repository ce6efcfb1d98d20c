/* Small file-system helpers shared by the opening code of several modules (audit log, store,
 * TLS files, config and policy files): directory creation and reading whole files under a cap. */
#ifndef ZT_LIB_FILE_H
#define ZT_LIB_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/buf.h"

/* mkdir -p: every missing directory of dir is created with mode; existing ones are left as they
 * are. 0, or -errno (with the failing prefix in failed[0..cap) when failed is not NULL). */
int zt_mkdir_p(const char *dir, mode_t mode, char *failed, size_t cap);
/* mkdir -p of the directory holding file ("a/b/c.pem" creates a/ and a/b/). */
int zt_mkdir_parent(const char *file, mode_t mode);
/* Read fd to its end into b (capped by b's limit: -E2BIG past it); 0 or -errno. */
int zt_read_fd(int fd, zt_buf *b);
/* Open path and read it whole into b; 0 or -errno. */
int zt_read_file(const char *path, zt_buf *b);
/* Write all n bytes of p to fd, retrying short writes and EINTR; 0, or -errno (-EIO when the
 * kernel wrote nothing without saying why). */
int zt_write_all(int fd, const void *p, size_t n);
/* Read at most cap bytes of fd into buf (*len bytes read); 0 or -errno. */
int zt_read_upto(int fd, char *buf, size_t cap, size_t *len);

#endif

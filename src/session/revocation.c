/* The revocation counter: 8 bytes in STATE_DIR/revocation, mapped shared by every gateway
 * process and bumped with an atomic add by whoever changes something that can end sessions
 * (the CLI, the admin API, logout). Caches compare it on every lookup, so a bump reaches every
 * loop of every process on its next request without touching the disk. Never prints. */
#define ZT_SESSION_INTERNAL
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session/session.h"

#define REV_SIZE ((off_t)sizeof(uint64_t))

_Static_assert(sizeof(_Atomic uint64_t) == sizeof(uint64_t), "counter must be 8 bytes");

/* Open (creating 0600) and make sure the file is exactly 8 bytes: a missing, truncated or
 * overlong file (crash mid-create, hand edit) is repaired rather than refused, because a
 * gateway that cannot see revocations would be worse than one whose counter restarts; the
 * repair itself changes nothing a cache remembers except by moving the value. */
static int rev_open(const char *state_dir, int *fd_out)
{
    char path[4096];
    if (state_dir == NULL || state_dir[0] == '\0')
        return -EINVAL;
    int n = snprintf(path, sizeof(path), "%s/%s", state_dir, ZT_REVOCATION_FILE);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) < 0)
        rc = -errno;
    else if (!S_ISREG(sb.st_mode))
        rc = -EINVAL;
    else if ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) < 0)
        rc = -errno;
    else if (sb.st_size != REV_SIZE && ftruncate(fd, REV_SIZE) < 0)
        rc = -errno;
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int zt_revocation_map(const char *state_dir, _Atomic uint64_t **out)
{
    int fd = -1;
    int rc = rev_open(state_dir, &fd);
    if (rc != 0)
        return rc;
    void *p = mmap(NULL, (size_t)REV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    rc = p == MAP_FAILED ? -errno : 0;
    close(fd); /* the mapping keeps the file */
    if (rc == 0)
        *out = p;
    return rc;
}

void zt_revocation_unmap(_Atomic uint64_t *map)
{
    if (map != NULL)
        munmap((void *)map, (size_t)REV_SIZE);
}

int zt_revocation_bump(const char *state_dir)
{
    _Atomic uint64_t *map = NULL;
    int rc = zt_revocation_map(state_dir, &map);
    if (rc != 0)
        return rc;
    /* A lock-free fetch_add on a shared mapping is atomic across processes too, so two
     * concurrent bumps both count. */
    atomic_fetch_add(map, 1);
    /* Not needed for visibility (the page cache is shared), only so the value survives a
     * crash: a restarted gateway's caches start empty anyway. */
    msync((void *)map, (size_t)REV_SIZE, MS_ASYNC);
    zt_revocation_unmap(map);
    return 0;
}

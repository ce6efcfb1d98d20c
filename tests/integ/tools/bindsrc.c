/* LD_PRELOAD shim for tests: every IPv4 TCP socket a program connects is first bound to the
 * address in ZT_BIND_SRC (e.g. 127.0.0.2), so an attack tool without a source-address option
 * (hydra) appears to the gateway as a different client than the test's own requests. Loopback
 * routes otherwise pick 127.0.0.1 whatever the destination. Test-only; never shipped. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    static connect_fn real_connect;
    if (real_connect == NULL)
        real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
    const char *src = getenv("ZT_BIND_SRC");
    if (src != NULL && addr != NULL && addr->sa_family == AF_INET) {
        struct sockaddr_in local;
        memset(&local, 0, sizeof(local));
        local.sin_family = AF_INET;
        if (inet_pton(AF_INET, src, &local.sin_addr) == 1) {
            int saved = errno;
            /* Fails harmlessly (EINVAL) when the socket is already bound. */
            (void)bind(fd, (const struct sockaddr *)&local, sizeof(local));
            errno = saved;
        }
    }
    return real_connect(fd, addr, len);
}

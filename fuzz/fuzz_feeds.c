/* libFuzzer target for the feed parsers (Tor exit lists, IP/CIDR lists, leaked pairs): any bytes
 * parse without crashing, every report line names the file, and the snapshot's CIDR set agrees
 * with a brute-force scan of the parsed blocks for addresses taken from the input. Small inputs
 * also go through a memfd so the whole load path (read, merge, freeze) runs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/buf.h"
#include "risk/feeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* Every report line is "NAME:..." or "NAME: ..." and ends with a newline. */
static void check_report(zt_buf *rep, const char *name)
{
    size_t nl = strlen(name);
    size_t off = 0;
    while (off < rep->len) {
        const char *p = rep->data + off;
        const char *end = memchr(p, '\n', rep->len - off);
        CHECK(end != NULL);
        CHECK((size_t)(end - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == ':');
        off = (size_t)(end - rep->data) + 1;
    }
}

/* One query: the snapshot must agree with the brute-force scan of the parsed list. */
static void query(const zt_feeds *f, const zt_feed_data *list, const struct sockaddr *sa)
{
    zt_ip_info info;
    zt_feeds_lookup(f, sa, &info);
    bool brute = zt_feed_data_has_ip(list, sa);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        /* ::ffff:a.b.c.d answers exactly as a.b.c.d (the scan would also let ::/0 match it). */
        struct sockaddr_in in = {.sin_family = AF_INET};
        memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
        zt_ip_info as_v4;
        zt_feeds_lookup(f, (const struct sockaddr *)&in, &as_v4);
        CHECK(memcmp(&info, &as_v4, sizeof(info)) == 0);
    } else if (sa->sa_family == AF_INET6) {
        CHECK(info.anonymous == brute);
        CHECK(info.malicious == brute);
    } else if (brute) {
        /* IPv4: the set also holds ::ffff:a.b.c.d blocks, which the scan does not count. */
        CHECK(info.anonymous && info.malicious);
    }
    CHECK(!info.malicious || strcmp(info.malicious_source, "m") == 0);
}

/* Addresses named in the input itself (so queries hit), plus raw bytes read as addresses. */
static void queries(const zt_feeds *f, const zt_feed_data *list, const uint8_t *data, size_t size)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    size_t n_named = 0;
    for (size_t i = 0; i < size && n_named < 64;) {
        size_t j = i;
        while (j < size && j - i < 45 && strchr("0123456789abcdefABCDEF.:", data[j]) != NULL &&
               data[j] != '\0')
            j++;
        if (j > i) {
            char tok[46];
            memcpy(tok, data + i, j - i);
            tok[j - i] = '\0';
            if (inet_pton(AF_INET, tok, &in.sin_addr) == 1) {
                query(f, list, (struct sockaddr *)&in);
                n_named++;
            } else if (inet_pton(AF_INET6, tok, &in6.sin6_addr) == 1) {
                query(f, list, (struct sockaddr *)&in6);
                n_named++;
            }
            i = j;
        } else {
            i++;
        }
    }
    for (size_t off = 0; off + 16 <= size && off < 256; off += 16) {
        memcpy(&in.sin_addr, data + off, 4);
        query(f, list, (struct sockaddr *)&in);
        memcpy(&in6.sin6_addr, data + off, 16);
        query(f, list, (struct sockaddr *)&in6);
    }
}

static void through_memfd(const uint8_t *data, size_t size, const zt_feed_data *list)
{
    int fd = memfd_create("fuzz_feeds", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    zt_feed_file anon[] = {{path, NULL}}, mal[] = {{path, "m"}};
    zt_feeds_cfg cfg = {.anonymous = anon,
                        .n_anonymous = 1,
                        .malicious = mal,
                        .n_malicious = 1,
                        .leaked_credentials = path};
    zt_buf rep;
    zt_buf_init(&rep, 1 << 20);
    zt_feeds *f = zt_feeds_load(&cfg, NULL, &rep, NULL, 0);
    if (f != NULL) {
        check_report(&rep, path);
        zt_feeds_stats st;
        zt_feeds_get_stats(f, &st);
        CHECK(st.anonymous_ranges == zt_feed_data_count(list));
        queries(f, list, data, size);
        CHECK(!zt_feeds_changed(f, &cfg));
        /* Reload on top of it: shares nothing it should not. */
        zt_feeds *g = zt_feeds_load(&cfg, f, NULL, NULL, 0);
        zt_feeds_free(f);
        if (g != NULL)
            queries(g, list, data, size);
        zt_feeds_free(g);
    }
    zt_buf_dispose(&rep);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_buf rep;
    zt_buf_init(&rep, 1 << 20);
    zt_feed_data *list = zt_feeds_parse_list_mem("fuzz", data, size, &rep);
    if (list == NULL)
        goto out;
    check_report(&rep, "fuzz");

    zt_buf_reset(&rep);
    zt_feed_data *pairs = zt_feeds_parse_leaked_mem("fuzz", data, size, &rep);
    if (pairs != NULL) {
        check_report(&rep, "fuzz");
        /* The first line's user with the next 20 bytes as a hash: must not crash. */
        char user[300];
        size_t n = 0;
        while (n < size && n < sizeof(user) - 1 && data[n] != ':' && data[n] != '\n')
            n++;
        memcpy(user, data, n);
        user[n] = '\0';
        unsigned char sha1[20] = {0};
        memcpy(sha1, data + n, size - n < 20 ? size - n : 20);
        (void)zt_feed_data_has_pair(pairs, user, sha1);
        zt_feed_data_unref(pairs);
    }
    if (size < 8192)
        through_memfd(data, size, list);
    zt_feed_data_unref(list);
out:
    zt_buf_dispose(&rep);
    return 0;
}

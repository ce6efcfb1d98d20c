/* The "recent sign-in activity" of the security page: the store keeps no list of sign-ins (only
 * the learned familiarity history and the detections), but the audit log has one Authentication
 * record per attempt, success or failure, with the user's id when the account exists. This
 * reads the newest of them from the tail of the current audit file: a bounded read (the window),
 * never the whole log, so the page costs the same however old the log is. Older attempts (an
 * earlier file, or beyond the window) are not shown; `ztgate audit search` finds them. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/event.h"
#include "lib/time.h"
#include "portal/portal.h"

#define AUTH_CLASS "\"class_uid\":3002," /* as audit/event.c writes it, no spaces */

/* The file's last `window` bytes (all of it when smaller) into a new buffer. */
static int read_tail(const char *path, size_t window, char **out, size_t *len, bool *cut)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    size_t size = rc == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
    size_t want = size < window ? size : window;
    char *buf = rc == 0 ? malloc(want + 1) : NULL;
    size_t got = 0;
    if (rc == 0 && buf == NULL)
        rc = -ENOMEM;
    while (rc == 0 && got < want) {
        ssize_t n = pread(fd, buf + got, want - got, (off_t)(size - want + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    *cut = want < size;
    return 0;
}

/* "2026-12-06T10:00:48.123Z" -> Unix seconds; 0 when it is not that shape. */
static int64_t rfc3339_seconds(const char *s)
{
    int y, mo, d, h, mi, sec;
    char t, z;
    if (s == NULL || strlen(s) < 20 ||
        sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%c", &y, &mo, &d, &t, &h, &mi, &sec, &z) != 8 ||
        (t != 'T' && t != 't') || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return 0;
    return zt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

static const char *obj_str(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void copy_text(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s != NULL && s[n] != '\0' && n + 1 < cap; n++)
        out[n] = s[n] > 0x20 && s[n] < 0x7f ? s[n] : '?';
    out[n] = '\0';
}

/* One line: true (and *e filled) when it is a sign-in attempt of user_id. */
static bool parse_line(const char *p, size_t n, const char *user_id, zt_sec_signin *e)
{
    json_t *o = json_loadb(p, n, 0, NULL);
    bool ok = o != NULL &&
              json_integer_value(json_object_get(o, "class_uid")) == ZT_EV_AUTHENTICATION &&
              json_integer_value(json_object_get(o, "activity_id")) == ZT_ACT_AUTH_LOGON;
    const char *uid = ok ? obj_str(o, "user", "uid") : NULL;
    ok = uid != NULL && strcmp(uid, user_id) == 0;
    if (ok) {
        memset(e, 0, sizeof(*e));
        json_int_t seq = json_integer_value(json_object_get(o, "seq"));
        e->seq = seq > 0 ? (uint64_t)seq : 0;
        e->at = rfc3339_seconds(obj_str(o, "time", NULL));
        e->success = json_integer_value(json_object_get(o, "status_id")) == 1;
        copy_text(e->ip, sizeof(e->ip), obj_str(o, "src_endpoint", "ip"));
        json_t *f = json_array_get(json_object_get(o, "auth_factors"), 0);
        copy_text(e->factor, sizeof(e->factor), obj_str(f, "factor_type", NULL));
        ok = e->seq > 0;
    }
    json_decref(o);
    return ok;
}

size_t zt_sec_activity_parse(const char *buf, size_t len, bool cut, const char *user_id,
                             zt_sec_signin *out, size_t cap)
{
    size_t found = 0, idlen = user_id != NULL ? strlen(user_id) : 0;
    if (idlen == 0)
        return 0;
    /* Newest first: walk the lines from the end; a line cut by the window is skipped. */
    size_t end = len;
    while (end > 0 && found < cap) {
        size_t start = end;
        while (start > 0 && buf[start - 1] != '\n')
            start--;
        if (start == 0 && cut)
            break;
        size_t n = end - start;
        /* Cheap filters before parsing: an Authentication record with the user's id on it
         * (the user's many other records, e.g. each proxied request, are never parsed). */
        if (n > idlen && memmem(buf + start, n, AUTH_CLASS, sizeof(AUTH_CLASS) - 1) != NULL &&
            memmem(buf + start, n, user_id, idlen) != NULL &&
            parse_line(buf + start, n, user_id, &out[found]))
            found++;
        end = start > 0 ? start - 1 : 0;
    }
    return found;
}

int zt_sec_activity_read(const char *path, const char *user_id, size_t window, zt_sec_signin *out,
                         size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (path == NULL || user_id == NULL || user_id[0] == '\0')
        return -EINVAL;
    char *buf = NULL;
    size_t len = 0;
    bool cut = false;
    int rc = read_tail(path, window, &buf, &len, &cut);
    if (rc != 0)
        return rc;
    *n_out = zt_sec_activity_parse(buf, len, cut, user_id, out, cap);
    free(buf);
    return 0;
}

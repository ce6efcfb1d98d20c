/* Backend-independent half of the incident store: every argument is checked against the limits
 * in store_incident.h here, once, before the backend's incident ops run. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

/* Same contract as store.c's ENTER: no stale message, no NULL store, a backend that has it. */
#define INC_ENTER(st)                                                                              \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->incident == NULL)                                                           \
            return zt_store_seterr(-EIO, "this store backend has no incident records");            \
    } while (0)

static const char *const status_names[ZT_STORE_INC_N_STATUS] = {"open", "contained", "resolved"};

const char *zt_store_incident_status_name(zt_store_incident_status s)
{
    return (unsigned)s < ZT_STORE_INC_N_STATUS ? status_names[s] : "unknown";
}

bool zt_store_incident_status_parse(const char *s, zt_store_incident_status *out)
{
    for (unsigned i = 0; s != NULL && i < ZT_STORE_INC_N_STATUS; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (zt_store_incident_status)i;
            return true;
        }
    }
    return false;
}

/* At most max bytes without control characters (UTF-8 passes as bytes >= 0x80). */
static int check_text(const char *what, const char *s, size_t max, bool empty_ok)
{
    size_t n = s != NULL ? strnlen(s, max + 1) : 0;
    if (s == NULL || (n == 0 && !empty_ok) || n > max)
        return zt_store_seterr(-EINVAL, "%s must be %s1..%zu bytes", what,
                               empty_ok ? "empty or " : "", max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return zt_store_seterr(-EINVAL, "%s contains a control character", what);
    }
    return 0;
}

/* A user or device id: empty, or [a-z0-9-] (our ids are lowercase hex). */
static int check_subject(const char *what, const char *s)
{
    size_t n = s != NULL ? strnlen(s, ZT_STORE_INC_SUBJECT_MAX + 1) : 0;
    if (n > ZT_STORE_INC_SUBJECT_MAX || (s != NULL && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                                                "0123456789-") != n))
        return zt_store_seterr(-EINVAL, "%s must be at most %d characters of [a-z0-9-]", what,
                               ZT_STORE_INC_SUBJECT_MAX);
    return 0;
}

static int check_event(const zt_store_incident_event *ev)
{
    if (ev == NULL)
        return zt_store_seterr(-EINVAL, "no incident event given");
    if (ev->at <= 0)
        return zt_store_seterr(-EINVAL, "event time must be positive");
    size_t k = strnlen(ev->kind, sizeof(ev->kind));
    if (k == 0 || k > ZT_STORE_INC_KIND_MAX || strspn(ev->kind, "abcdefghijklmnopqrstuvwxyz_") != k)
        return zt_store_seterr(-EINVAL, "event kind must be 1..%d characters of [a-z_]",
                               ZT_STORE_INC_KIND_MAX);
    int rc = check_text("event summary", ev->summary, ZT_STORE_INC_SUMMARY_MAX, false);
    if (rc == 0)
        rc = check_text("event detail", ev->detail, ZT_STORE_INC_DETAIL_MAX, true);
    if (rc == 0 && ev->detail[0] != '\0' && ev->detail[0] != '{')
        rc = zt_store_seterr(-EINVAL, "event detail must be a JSON object");
    if (rc == 0)
        rc = check_text("playbook", ev->playbook, ZT_STORE_INC_PLAYBOOK_MAX, true);
    if (rc == 0)
        rc = check_text("request id", ev->request_id, ZT_STORE_INC_REQUEST_MAX, true);
    return rc;
}

static int check_subjects(const zt_store_incident *inc)
{
    int rc = check_subject("user id", inc->user_id);
    if (rc == 0)
        rc = check_subject("device id", inc->device_id);
    if (rc == 0 && inc->user_id[0] == '\0' && inc->device_id[0] == '\0')
        rc = zt_store_seterr(-EINVAL, "an incident needs a user or a device");
    return rc;
}

static int check_new(const zt_store_incident *inc)
{
    int rc = check_text("incident title", inc->title, ZT_STORE_INC_TITLE_MAX, false);
    if (rc == 0)
        rc = check_subjects(inc);
    if (rc == 0 && (inc->severity < 1 || inc->severity > 3))
        rc = zt_store_seterr(-EINVAL, "incident severity must be 1..3");
    if (rc == 0 && inc->created_at <= 0)
        rc = zt_store_seterr(-EINVAL, "incident time must be positive");
    return rc;
}

static int check_update(const zt_store_incident_update *u)
{
    int rc = 0;
    if (u->severity < 0 || u->severity > 3)
        rc = zt_store_seterr(-EINVAL, "incident severity must be 0..3");
    if (rc == 0 && (u->status < -1 || u->status >= ZT_STORE_INC_N_STATUS))
        rc = zt_store_seterr(-EINVAL, "unknown incident status");
    if (rc == 0)
        rc = check_subject("user id", u->user_id);
    if (rc == 0)
        rc = check_subject("device id", u->device_id);
    return rc;
}

int zt_store_incident_find_open(zt_store *st, const char *user_id, const char *device_id,
                                int64_t since, zt_store_incident *out)
{
    INC_ENTER(st);
    if (user_id != NULL && user_id[0] == '\0')
        user_id = NULL;
    if (device_id != NULL && device_id[0] == '\0')
        device_id = NULL;
    if (out == NULL || (user_id == NULL && device_id == NULL))
        return zt_store_seterr(-EINVAL, "name a user or a device");
    int rc = check_subject("user id", user_id);
    if (rc == 0)
        rc = check_subject("device id", device_id);
    return rc != 0 ? rc : st->ops->incident->find_open(st, user_id, device_id, since, out);
}

int zt_store_incident_append(zt_store *st, int64_t id, const zt_store_incident_update *u,
                             zt_store_incident_event *ev)
{
    INC_ENTER(st);
    static const zt_store_incident_update none = {.status = -1};
    if (u == NULL)
        u = &none;
    if (id <= 0)
        return zt_store_seterr(-ENOENT, "no such incident");
    int rc = check_event(ev);
    if (rc == 0)
        rc = check_update(u);
    return rc != 0 ? rc : st->ops->incident->append(st, id, u, ev);
}

int zt_store_incident_join_or_open(zt_store *st, zt_store_incident *inc, int64_t since,
                                   const zt_store_incident_update *u, bool may_open,
                                   zt_store_incident_event *ev, bool *opened)
{
    INC_ENTER(st);
    static const zt_store_incident_update none = {.status = -1};
    if (u == NULL)
        u = &none;
    if (inc == NULL || opened == NULL)
        return zt_store_seterr(-EINVAL, "no incident given");
    *opened = false;
    int rc = may_open ? check_new(inc) : check_subjects(inc);
    if (rc == 0)
        rc = check_event(ev);
    if (rc == 0)
        rc = check_update(u);
    return rc != 0 ? rc : st->ops->incident->join_or_open(st, inc, since, u, may_open, ev, opened);
}

int zt_store_incident_get(zt_store *st, int64_t id, zt_store_incident *out)
{
    INC_ENTER(st);
    if (out == NULL)
        return zt_store_seterr(-EINVAL, "no output given");
    if (id <= 0)
        return zt_store_seterr(-ENOENT, "no such incident");
    return st->ops->incident->get(st, id, out);
}

int zt_store_incident_list(zt_store *st, const zt_store_incident_filter *f, zt_store_incident_cb cb,
                           void *ctx)
{
    INC_ENTER(st);
    static const zt_store_incident_filter all = {.status = -1};
    if (f == NULL)
        f = &all;
    if (cb == NULL || f->status < -1 || f->status >= ZT_STORE_INC_N_STATUS)
        return zt_store_seterr(-EINVAL, "bad incident filter");
    int rc = check_subject("user id", f->user_id);
    return rc != 0 ? rc : st->ops->incident->list(st, f, cb, ctx);
}

int zt_store_incident_events(zt_store *st, int64_t id, zt_store_incident_event_cb cb, void *ctx)
{
    INC_ENTER(st);
    if (cb == NULL)
        return zt_store_seterr(-EINVAL, "no callback given");
    if (id <= 0)
        return zt_store_seterr(-ENOENT, "no such incident");
    return st->ops->incident->events(st, id, cb, ctx);
}

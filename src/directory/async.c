/* Sign-in binds on the libuv pool: libldap blocks (connect, TLS, search, bind), so the loop that
 * took the request only queues the work and gets the outcome back in its after-work callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "directory/directory_int.h"
#include "lib/secure.h"

typedef struct auth_work {
    uv_work_t w;
    zt_directory *d;
    char *login;
    char *pw;
    size_t pw_len;
    zt_dir_auth result;
    zt_dir_user user;
    zt_dir_auth_cb done;
    void *ctx;
} auth_work;

static void auth_run(uv_work_t *w)
{
    auth_work *a = w->data;
    a->result = zt_directory_authenticate(a->d, a->login, a->pw, a->pw_len, &a->user);
    zt_wipe(a->pw, a->pw_len);
}

static void auth_after(uv_work_t *w, int status)
{
    auth_work *a = w->data;
    atomic_fetch_sub(&a->d->in_flight, 1);
    zt_dir_auth r = status == 0 ? a->result : ZT_DIR_AUTH_UNREACHABLE;
    a->done(a->ctx, r, r == ZT_DIR_AUTH_OK || r == ZT_DIR_AUTH_DISABLED ? &a->user : NULL);
    zt_dir_user_dispose(&a->user);
    free(a->login);
    free(a->pw);
    free(a);
}

int zt_directory_authenticate_async(zt_directory *d, struct uv_loop_s *loop, const char *login,
                                    const char *pw, size_t pw_len, zt_dir_auth_cb done, void *ctx)
{
    if (atomic_fetch_add(&d->in_flight, 1) >= ZT_DIR_IN_FLIGHT_MAX) {
        atomic_fetch_sub(&d->in_flight, 1);
        return -EBUSY;
    }
    auth_work *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        atomic_fetch_sub(&d->in_flight, 1);
        return -ENOMEM;
    }
    a->d = d;
    a->login = strdup(login);
    a->pw = malloc(pw_len + 1);
    if (a->login == NULL || a->pw == NULL) {
        atomic_fetch_sub(&d->in_flight, 1);
        free(a->login);
        free(a->pw);
        free(a);
        return -ENOMEM;
    }
    memcpy(a->pw, pw, pw_len);
    a->pw[pw_len] = '\0';
    a->pw_len = pw_len;
    a->done = done;
    a->ctx = ctx;
    a->w.data = a;
    int rc = uv_queue_work(loop, &a->w, auth_run, auth_after);
    if (rc != 0) {
        atomic_fetch_sub(&d->in_flight, 1);
        zt_wipe(a->pw, pw_len);
        free(a->login);
        free(a->pw);
        free(a);
        return -ENOMEM;
    }
    return 0;
}

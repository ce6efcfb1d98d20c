/* Admin API request parsing on arbitrary input; must never crash, leak or hit UB, and anything
 * accepted must hold exactly the declared fields with the declared types and sizes.
 * The first byte picks the target:
 *   0-3: the rest is a request body checked against one endpoint's field list
 *   4:   the rest is a path for the router (the second byte picks the method) */
#include <jansson.h>
#include <llhttp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"

static const zt_admin_field create_user[] = {
    {"email", ZT_ADMIN_F_STRING, true, ZT_STORE_EMAIL_MAX, 0},
    {"name", ZT_ADMIN_F_STRING, false, ZT_STORE_NAME_MAX, 0},
    {"groups", ZT_ADMIN_F_STRINGS, false, ZT_STORE_GROUP_MAX, ZT_STORE_USER_GROUPS_MAX},
    {"password", ZT_ADMIN_F_STRING, false, 1024, 0},
};
static const zt_admin_field one_password[] = {{"password", ZT_ADMIN_F_STRING, true, 1024, 0}};
static const zt_admin_field one_user[] = {{"user", ZT_ADMIN_F_STRING, true, 254, 0}};

static const struct {
    const zt_admin_field *f;
    size_t n;
} sets[] = {
    {create_user, 4},
    {one_password, 1},
    {one_user, 1},
    {NULL, 0},
};

static void check_accepted(const json_t *root, const zt_admin_field *f, size_t n)
{
    if (!json_is_object(root))
        abort();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(f[i].name, key) != 0)
            i++;
        if (i == n)
            abort();
        if (f[i].type == ZT_ADMIN_F_STRING) {
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                json_string_length(v) > f[i].max)
                abort();
        } else if (!json_is_array(v) || json_array_size(v) > f[i].max_items) {
            abort();
        }
    }
    for (size_t i = 0; i < n; i++)
        if (f[i].required && json_object_get(root, f[i].name) == NULL)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] % 5;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    if (sel == 4) {
        static const int methods[] = {HTTP_GET, HTTP_POST, HTTP_DELETE, HTTP_PUT};
        if (n < 1)
            return 0;
        char *path = malloc(n);
        if (path == NULL)
            return 0;
        memcpy(path, rest + 1, n - 1);
        path[n - 1] = '\0';
        zt_admin_route rt;
        zt_admin_route_match(methods[(unsigned char)rest[0] % 4], path, n - 1, &rt);
        if (rt.status == 0 && (strlen(rt.user) > ZT_ADMIN_SEG_MAX || rt.ep == ZT_ADMIN_EP_NONE))
            abort();
        free(path);
        return 0;
    }
    json_t *out = NULL;
    zt_admin_error err;
    int rc = zt_admin_body_parse(rest, n, sets[sel].f, sets[sel].n, &out, &err);
    if (rc == 0) {
        check_accepted(out, sets[sel].f, sets[sel].n);
        json_decref(out);
    } else if (rc != 400 || out != NULL || err.code == NULL) {
        abort();
    }
    return 0;
}

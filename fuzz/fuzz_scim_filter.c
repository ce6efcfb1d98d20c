/* SCIM filters and PATCH paths (RFC 7644 §3.4.2.2, §3.5.2) on arbitrary input: must never
 * crash, leak or hit UB, and anything accepted must evaluate against a fixed resource. The first
 * byte picks the parser: even = filter, odd = PATCH path. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scim/scim.h"

static json_t *resource;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (resource == NULL)
        resource = json_loads("{\"userName\":\"a@b\",\"active\":true,\"age\":3,\"name\":"
                              "{\"givenName\":\"A\"},\"emails\":[{\"type\":\"work\",\"value\":"
                              "\"a@b\",\"primary\":true},\"x\"]}",
                              0, NULL);
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    zt_scim_error err;
    if ((data[0] & 1) == 0) {
        zt_scim_filter *f = NULL;
        if (zt_scim_filter_parse(s, n, &f, &err) == 0) {
            (void)zt_scim_filter_match(f, resource);
            (void)zt_scim_filter_eq_string(f, "userName");
            json_t *seed = json_object();
            (void)zt_scim_filter_seed(f, seed);
            json_decref(seed);
        } else if (err.status != 400 || f != NULL) {
            abort();
        }
        zt_scim_filter_free(f);
    } else {
        zt_scim_path p;
        if (zt_scim_path_parse(s, n, &p, &err) == 0) {
            if (p.attr == NULL)
                abort();
            if (p.filter != NULL)
                (void)zt_scim_filter_match(p.filter, resource);
        }
        zt_scim_path_dispose(&p);
    }
    return 0;
}

/* SCIM PATCH bodies (RFC 7644 §3.5.2, both Entra dialects) on arbitrary input against a fixed
 * resource: must never crash, leak or hit UB; a refused PATCH leaves the resource untouched
 * (all or nothing). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scim/scim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (body == NULL || zt_scim_json_depth(body, ZT_SCIM_JSON_MAX_DEPTH) > ZT_SCIM_JSON_MAX_DEPTH) {
        json_decref(body);
        return 0;
    }
    json_t *res = json_loads("{\"id\":\"1\",\"displayName\":\"G\",\"active\":\"True\",\"members\":"
                             "[{\"value\":\"a\"},{\"value\":\"b\"}],\"emails\":[{\"type\":\"work\","
                             "\"value\":\"w@x\"}],\"name\":{\"givenName\":\"A\"}}",
                             0, NULL);
    json_t *before = json_deep_copy(res);
    zt_scim_error err;
    if (zt_scim_patch_apply(res, body, &err) == 0)
        zt_scim_coerce_booleans(res);
    else if (!json_equal(res, before) || err.status < 400)
        abort();
    json_decref(before);
    json_decref(res);
    json_decref(body);
    return 0;
}

/* An HTTP/1.x answer as a peer sends it to ztgate's outgoing POSTs (response/webhook.c:
 * zt_http_answer_parse: status line, headers, a Content-Length, chunked or read-to-close body;
 * the SAML back-channel logout reads the SP's SOAP answer this way). Must never crash, read
 * out of bounds or hit UB; the body it returns is NUL-terminated and never larger than the
 * input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "response/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1);
    if (raw == NULL)
        return 0;
    memcpy(raw, data, size);
    zt_buf body;
    zt_buf_init(&body, 256 * 1024);
    int code = zt_http_answer_parse(raw, size, &body);
    if (code >= 0 && (body.data == NULL || body.data[body.len] != '\0' || body.len > size))
        abort();
    zt_buf_dispose(&body);
    free(raw);
    return 0;
}

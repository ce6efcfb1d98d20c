/* What ztgate's token-checked JSON APIs (the admin API, SCIM) share around their calls: the
 * one Authorization header, the parts of a call's audit record that do not depend on the API
 * (actor by token, the request, queueing the record) and the head of every answer. Each API
 * keeps its own token check, routing and error bodies. */
#ifndef ZT_HTTP_API_H
#define ZT_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>

#include "audit/event.h"
#include "http/handler.h"
#include "lib/buf.h"

/* The value of the Authorization header when there is exactly one; NULL for none or several
 * (a second credential is refused, never chosen from). */
const zt_span *zt_api_authorization(const zt_local_req *r);

/* actor.user.* for a token named "PREFIX:FINGERPRINT" (prefix_len bytes up to and with the
 * colon); name NULL: the call was not authenticated. */
void zt_api_event_actor(zt_event *ev, const char *name, size_t prefix_len);

/* api.operation, src_endpoint.ip and .port, http_request.http_method and .url.path. */
void zt_api_event_request(zt_event *ev, const zt_local_req *r, const char *operation);

/* Add the request's metadata, end the event and queue it; api names the API in the log line
 * when the event cannot be built. Disposes b. false: the call must fail closed. */
bool zt_api_event_queue(zt_local_req *r, zt_event *ev, zt_buf *b, const char *api);

/* zt_local_audit for a writer callback (ctx is the zt_local_req), as the account service's
 * audit sink takes it: 0, or -EIO when the call must fail closed. */
int zt_api_audit_sink(void *req, const char *json, size_t len);

/* Status, content type and the headers every API answer carries (no-store, nosniff); the
 * handler's default security headers are left out. Non-zero when the headers did not fit. */
int zt_api_answer_head(zt_local_req *r, int status, const char *content_type);

#endif

/* Webhook notifier: POSTs JSON documents to one http:// or https:// URL from its own thread,
 * retrying failures (connection errors, timeouts, non-2xx answers) with exponential backoff.
 * Each body is signed: `X-ZT-Signature: sha256=<hex HMAC-SHA256(key, body)>`.
 *
 * Posting never blocks the caller: a bounded queue takes the document or drops it and counts the
 * drop. HTTPS verifies the server's chain (system store or a configured CA) and host name. It
 * never logs the key or a body. */
#ifndef ZT_RESPONSE_WEBHOOK_H
#define ZT_RESPONSE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "lib/buf.h"

#define ZT_WEBHOOK_BODY_MAX (64 * 1024) /* larger documents are refused */
#define ZT_WEBHOOK_KEY_MIN 16
#define ZT_WEBHOOK_KEY_MAX 64
#define ZT_WEBHOOK_BACKOFF_MAX_MS 60000 /* retry delays double up to this */
#define ZT_WEBHOOK_SIG_LEN (7 + 64)     /* "sha256=" + hex */

typedef struct zt_webhook zt_webhook;

typedef struct zt_webhook_stats {
    uint64_t queued;    /* accepted by zt_webhook_post */
    uint64_t delivered; /* a 2xx answer */
    uint64_t failed;    /* given up after every retry */
    uint64_t dropped;   /* queue full, or pending at shutdown */
    uint64_t attempts;  /* POSTs tried, retries included */
} zt_webhook_stats;

/* Start the notifier for cfg (borrowed only during the call) with an HMAC key of
 * ZT_WEBHOOK_KEY_MIN..MAX bytes (copied, wiped at free). NULL with the reason in err. */
zt_webhook *zt_webhook_new(const zt_webhook_cfg *cfg, const unsigned char *key, size_t keylen,
                           char *err, size_t errlen);
/* Stop the thread (an attempt in progress ends at its timeout; a backoff wait ends at once);
 * documents still queued are counted as dropped. Accepts NULL. */
void zt_webhook_free(zt_webhook *w);

/* Queue one JSON document (copied). false when it was dropped (queue full, too large). */
bool zt_webhook_post(zt_webhook *w, const char *json, size_t len);
void zt_webhook_stats_get(zt_webhook *w, zt_webhook_stats *out);
/* Wait until nothing is queued or in flight, at most timeout_ms; true when idle. For tests and
 * orderly shutdown. */
bool zt_webhook_drain(zt_webhook *w, uint64_t timeout_ms);

/* "sha256=" + lowercase hex of HMAC-SHA256(key, body), NUL-terminated. */
void zt_webhook_sign(const unsigned char *key, size_t keylen, const char *body, size_t len,
                     char out[ZT_WEBHOOK_SIG_LEN + 1]);

/* One POST of body (content_type) to an http:// or https:// url with the notifier's client: a
 * timeout on connect and on every read and write, the answer read by twice the timeout from
 * the start whatever its pace, no redirects followed, https verified
 * against ca (NULL: the system store). The HTTP status (0: no answer), or a negative errno
 * (-EINVAL: not a usable URL). Blocking: for callers with a thread of their own (the identity
 * provider's back-channel logout). Never logs the body. */
int zt_http_post_once(const char *url, const char *content_type, const char *body, size_t len,
                      uint64_t timeout_ms, const char *ca);
/* The same with one more header line (extra_header without CRLF, nullable) and the answer's
 * body (Content-Length, chunked, or until close; at most 256 KiB, read within twice the
 * timeout) appended to answer (NUL-terminated) when the status line was read. */
int zt_http_post_read(const char *url, const char *content_type, const char *extra_header,
                      const char *body, size_t len, uint64_t timeout_ms, const char *ca,
                      zt_buf *answer);
/* The same client's GET (no body sent): a discovery document or a JWKS. */
int zt_http_get_read(const char *url, uint64_t timeout_ms, const char *ca, zt_buf *answer);
/* Pure: the status of a raw HTTP/1.x answer (status line, headers, body) and its body
 * (de-chunked) into body; negative errno when it is not one. Outside input: fuzzed. */
int zt_http_answer_parse(const char *raw, size_t n, zt_buf *body);

#endif

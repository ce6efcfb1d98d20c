/* Reason phrases of HTTP status codes, for every status line ztgate writes. */
#ifndef ZT_HTTP_STATUS_H
#define ZT_HTTP_STATUS_H

/* "Not Found" for 404; "Unknown" for a code ztgate never sends. */
const char *zt_http_status_text(int status);

#endif

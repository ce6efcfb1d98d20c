/* Private to src/audit/query*.c: what the search, the rollup and the scanner share. */
#ifndef ZT_AUDIT_QUERY_INT_H
#define ZT_AUDIT_QUERY_INT_H

#include "audit/query.h"

#define ZT_AQ_MAX_LINE (1u << 20) /* a longer line is not a record */

/* The record's time in µs; false when it has none that parses. */
bool zt_aq_time_us(const zt_aq_span *sp, int64_t *us);
/* 1 match, 0 no match, -1 the line is not a JSON object (x filled when it was scanned). */
int zt_aq_match_ex(const zt_aq_filter *f, const char *line, size_t len, zt_aq_fields *x);

/* A file's bytes: mapped, or read whole when it cannot be mapped. */
typedef struct zt_aq_map {
    const char *data;
    size_t len;
    bool mapped;
} zt_aq_map;
int zt_aq_map_open(const char *path, zt_aq_map *m);
/* Drop the whole pages of [from, to) from memory (read again from the file if touched). */
void zt_aq_map_release(const zt_aq_map *m, size_t from, size_t to);
void zt_aq_map_close(zt_aq_map *m);

#endif

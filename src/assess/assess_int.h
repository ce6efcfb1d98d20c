/* Private to src/assess: the audit-log statistics the assessment needs. */
#ifndef ZT_ASSESS_ASSESS_INT_H
#define ZT_ASSESS_ASSESS_INT_H

#include <stdint.h>

#include "assess/assess.h"

/* Read the log at `path` and its rotated files (PATH.<first seq>) through the audit query
 * engine and count, over records from `since` (Unix seconds) to f->now: MFA prompts and the
 * distinct users prompted, prompts per user-day, sign-ins succeeded and failed, blocked
 * requests, detections created, automated and manual responses. Sets f->audit_read (false when
 * the live file cannot be read) and the figures. */
void zt_assess_audit_stats(const char *path, int64_t since, zt_assess_facts *f);

#endif

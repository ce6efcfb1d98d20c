/* Private to src/assess: the audit-log statistics the assessment needs. */
#ifndef ZT_ASSESS_ASSESS_INT_H
#define ZT_ASSESS_ASSESS_INT_H

#include <stdint.h>

#include "assess/assess.h"

/* Read the log at `path` and its rotated files (PATH.<first seq>) and count, over records whose
 * time is at or after `since` (Unix seconds): MFA prompts (Authentication records with is_mfa
 * true) and the distinct users prompted, sign-ins succeeded and failed (the other
 * Authentication records with a factor), blocked requests (decision block) and detections
 * created. Sets f->audit_read (false when the live file cannot be opened) and the figures. A
 * line that is not JSON or lacks a time is skipped. A small reader of its own; it can move onto
 * the audit query engine (src/audit/query.h) without changing its callers. */
void zt_assess_audit_stats(const char *path, int64_t since, zt_assess_facts *f);

#endif

/* The assessment's audit statistics (assess_int.h), from the audit query engine
 * (src/audit/query.h): the chain's files read once into a private rollup, then asked for the
 * window in day buckets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess_int.h"
#include "audit/query.h"

void zt_assess_audit_stats(const char *path, int64_t since, zt_assess_facts *f)
{
    FILE *probe = fopen(path, "re");
    f->audit_read = probe != NULL;
    if (probe == NULL)
        return;
    fclose(probe);
    char **files = NULL;
    long n = zt_aq_log_files(path, &files);
    if (n <= 0) {
        f->audit_read = false;
        return;
    }
    zt_aq_stats_req req = {.since_us = since * 1000000,
                           .until_us = (f->now + 60) * 1000000,
                           .bucket_s = 86400,
                           .mfa_top = 0}; /* the MFA figures only, users counted exactly */
    zt_aq_stats st;
    memset(&st, 0, sizeof(st));
    int rc = zt_aq_stats_files((const char *const *)files, (size_t)n, NULL, &req, &st);
    zt_aq_files_free(files, (size_t)n);
    if (rc != 0) {
        f->audit_read = false;
        zt_aq_stats_dispose(&st);
        return;
    }
    f->records = st.total[ZT_AQC_RECORDS];
    f->mfa_prompts = st.total[ZT_AQC_MFA_OK] + st.total[ZT_AQC_MFA_FAIL];
    f->signins_ok = st.total[ZT_AQC_SIGNIN_OK];
    f->signins_failed = st.total[ZT_AQC_SIGNIN_FAIL];
    f->blocks = st.total[ZT_AQC_BLOCK];
    f->detections_logged = st.total[ZT_AQC_DETECTIONS];
    f->responses_auto_logged = st.total[ZT_AQC_RESP_AUTO];
    f->responses_manual_logged = st.total[ZT_AQC_RESP_MANUAL];
    f->users_prompted = st.mfa_users;
    f->mfa_user_days = st.mfa_user_days;
    f->mfa_max_per_user_day = st.mfa_max_per_user_day;
    if (st.mfa_user_days > 0)
        f->prompts_per_user_day = (double)st.mfa_prompts / (double)st.mfa_user_days;
    zt_aq_stats_dispose(&st);
}

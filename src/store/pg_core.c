/* PostgreSQL half of the core records (store.h): users, groups, memberships, TOTP, recovery
 * codes, sessions, risk detections and sign-in history. SQLite half: sqlite.c. */
#include "store/pg_int.h"

const zt_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .device = &pgd_ops,
    .incident = &pgi_ops,
    .webauthn = &pgw_ops,
    .tap = &pgt_ops,
    .admin = &pga_ops,
    .oidc = &pgo_ops,
    .saml = &pgs_ops,
    .source = &pgsrc_ops,
    .roster = &pgr_ops,
    .assess = &pgas_ops,
    .counter = &pgc_ops,
};

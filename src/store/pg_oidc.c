/* PostgreSQL half of the OpenID Connect provider's records (store_oidc.h; SQLite half
 * sqlite_oidc.inc). */
#include "store/pg_int.h"

const zt_store_oidc_ops pgo_ops = {0};

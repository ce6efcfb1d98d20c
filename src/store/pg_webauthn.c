/* PostgreSQL half of passkeys (store_webauthn.h; SQLite half sqlite_webauthn.inc). */
#include "store/pg_int.h"

const zt_store_webauthn_ops pgw_ops = {0};

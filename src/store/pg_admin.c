/* PostgreSQL half of admin roles and tokens (store_admin.h; SQLite half sqlite_admin.inc). */
#include "store/pg_int.h"

const zt_store_admin_ops pga_ops = {0};

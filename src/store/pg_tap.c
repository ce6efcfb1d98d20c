/* PostgreSQL half of Temporary Access Passes (store_tap.h; SQLite half sqlite_tap.inc). */
#include "store/pg_int.h"

const zt_store_tap_ops pgt_ops = {0};

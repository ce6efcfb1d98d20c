/* PostgreSQL half of roster import batches (store_roster.h; SQLite half sqlite_roster.inc). */
#include "store/pg_int.h"

const zt_store_roster_ops pgr_ops = {0};

/* PostgreSQL half of identity sources (store_source.h; SQLite half sqlite_source.inc). */
#include "store/pg_int.h"

const zt_store_source_ops pgsrc_ops = {0};

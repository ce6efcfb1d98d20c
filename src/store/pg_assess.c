/* PostgreSQL half of the assessment's records (store_assess.h; SQLite half sqlite_assess.inc). */
#include "store/pg_int.h"

const zt_store_assess_ops pgas_ops = {0};

/* PostgreSQL half of incidents and timelines (store_incident.h; SQLite half sqlite_incident.inc).
 */
#include "store/pg_int.h"

const zt_store_incident_ops pgi_ops = {0};

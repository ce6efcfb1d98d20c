/* PostgreSQL half of device trust (store_device.h; SQLite half sqlite_device.inc). */
#include "store/pg_int.h"

const zt_store_device_ops pgd_ops = {0};

/* PostgreSQL half of SAML IdP sessions (store_saml.h; SQLite half sqlite_saml.inc). */
#include "store/pg_int.h"

const zt_store_saml_ops pgs_ops = {0};

/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). Named administrators, roles and API tokens (src/session/admins.c, src/admin,
 * src/cli/cmd_admin.c) */
#ifndef ZT_CORE_I18N_ADMIN_H
#define ZT_CORE_I18N_ADMIN_H

/* clang-format off */
#define ZT_ADMIN_MESSAGES(X)
/* clang-format on */

#endif

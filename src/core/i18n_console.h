/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). The web console's frame, dashboard, users, groups and devices pages (src/console) */
#ifndef ZT_CORE_I18N_CONSOLE_H
#define ZT_CORE_I18N_CONSOLE_H

/* clang-format off */
#define ZT_CONSOLE_MESSAGES(X)
/* clang-format on */

#endif

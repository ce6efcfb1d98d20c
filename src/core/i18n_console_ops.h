/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). The web console's apps, policies, what-if, risk, incidents and audit pages
 * (src/console) */
#ifndef ZT_CORE_I18N_CONSOLE_OPS_H
#define ZT_CORE_I18N_CONSOLE_OPS_H

/* clang-format off */
#define ZT_CONSOLE_OPS_MESSAGES(X)
/* clang-format on */

#endif

/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). The Zero Trust assessment: pillars, stages, evidence, next measures (src/assess, its
 * console page) */
#ifndef ZT_CORE_I18N_ASSESS_H
#define ZT_CORE_I18N_ASSESS_H

/* clang-format off */
#define ZT_ASSESS_MESSAGES(X)
/* clang-format on */

#endif

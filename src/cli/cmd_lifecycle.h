/* Account lifecycle on the command line (docs/LIFECYCLE.md): `ztgate user set`, `ztgate user
 * inactive` (actions of `ztgate user`, listed in cmd_user.c's table) and `ztgate access review`.
 * The work is src/lifecycle's; these parse, ask the account service and print. */
#ifndef ZT_CLI_CMD_LIFECYCLE_H
#define ZT_CLI_CMD_LIFECYCLE_H

#include <stdint.h>

#include "cli/cli_util.h"

/* `user set EMAIL [--name N] [--expires DATE|never] [--sponsor EMAIL|none]`. */
int zt_cli_user_set(zt_store *st, const zt_cli_args *a);
/* `user inactive --days N [--format table|csv|json]`. */
int zt_cli_user_inactive(zt_store *st, const zt_cli_args *a);
/* `ztgate access review [--format table|csv|json]`. */
int zt_cmd_access(int argc, char **argv);

/* --expires and --sponsor of `user add` and `user set`: parsed and checked before anything is
 * asked or written. ZT_CLI_OK, or prints why and returns ZT_CLI_USAGE. */
int zt_cli_lifecycle_args(const zt_cli_args *a, int64_t *expires, const char **sponsor);

/* What `user show` and `user list` say of an account's lifecycle: "active", "disabled",
 * "expired"; the JSON fields source, expires_at, sponsor, last_sign_in_at added to j (0 or
 * -ENOMEM); the text lines of `user show`. */
const char *zt_cli_lifecycle_status(const zt_user *u);
int zt_cli_lifecycle_json(json_t *j, const zt_user *u);
void zt_cli_lifecycle_text(const zt_user *u);

#endif

/* Identity administration: `ztgate user ACTION ...` and `ztgate group ACTION ...` over the store.
 * Each returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef ZT_CLI_CMD_IDENTITY_H
#define ZT_CLI_CMD_IDENTITY_H

int zt_cmd_user(int argc, char **argv);
/* `ztgate user import|export` (cmd_roster.c); every other action goes on to zt_cmd_user. */
int zt_cmd_user_roster(int argc, char **argv);
int zt_cmd_group(int argc, char **argv);
int zt_cmd_audit(int argc, char **argv);

#endif

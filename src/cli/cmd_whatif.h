/* `ztgate whatif` and `ztgate policy test`: the CLI's side of the what-if module
 * (access/whatif.h): loading a config file, opening its store on first need, and the warning
 * when the reference evaluator disagrees. */
#ifndef ZT_CLI_CMD_WHATIF_H
#define ZT_CLI_CMD_WHATIF_H

#include "access/whatif.h"

/* Load and compile the config at path. 0, or prints why and returns ZT_CLI_USAGE (a config
 * that does not load is bad input to a question about it). */
int zt_whatif_env_open(zt_whatif_env *env, const char *path);
/* Frees what zt_whatif_env_open loaded and opened (only an env it filled). */
void zt_whatif_env_close(zt_whatif_env *env);

/* zt_whatif_eval, warning on stderr when the reference evaluator disagrees. */
int zt_whatif_cli_eval(const zt_whatif_env *env, const zt_whatif *w, zt_whatif_answer *ans);

#endif

/* Admin CLI: `ztgate SUBCOMMAND [args]`. A table maps each subcommand to one function; each
 * returns the process exit status. Secrets are read from stdin or files, never argv. */
#ifndef ZT_CLI_COMMANDS_H
#define ZT_CLI_COMMANDS_H

typedef struct zt_command {
    const char *name;
    const char *usage;   /* arguments, shown in help */
    const char *summary; /* one line */
    int (*run)(int argc, char **argv);
} zt_command;

/* Conditional Access questions (cmd_whatif.c, cmd_policy.c). */
int zt_cmd_whatif(int argc, char **argv);
int zt_cmd_policy(int argc, char **argv);

/* Risk detections and state (cmd_risk.c). */
int zt_cmd_risk(int argc, char **argv);

/* Enrolled devices and enrolment codes (cmd_device.c). */
int zt_cmd_device(int argc, char **argv);

/* Incidents and their timelines (cmd_incident.c). */
int zt_cmd_incident(int argc, char **argv);

/* Named administrators and their personal API tokens (cmd_admin.c). */
int zt_cmd_admin(int argc, char **argv);

/* LDAP / Active Directory: check a directory, sync now (cmd_ldap.c). */
int zt_cmd_ldap(int argc, char **argv);

/* The Zero Trust assessment (cmd_assess.c). */
int zt_cmd_assess(int argc, char **argv);

/* The store itself: SQLite to PostgreSQL (cmd_store.c). */
int zt_cmd_store(int argc, char **argv);

const zt_command *zt_command_find(const char *name);
void zt_commands_usage(void);
/* --config FILE, else $ZTGATE_CONFIG, else /etc/ztgate/ztgate.yaml. */
const char *zt_cli_config_path(int argc, char **argv);

#endif

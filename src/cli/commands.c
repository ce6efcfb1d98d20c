#include "cli/commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_identity.h"
#include "cli/cmd_lifecycle.h"
#include "core/config.h"
#include "gateway/gateway.h"
#include "policy/policy.h"

#define DEFAULT_CONFIG "/etc/ztgate/ztgate.yaml"

const char *zt_cli_config_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    const char *env = getenv("ZTGATE_CONFIG");
    return env != NULL && env[0] != '\0' ? env : DEFAULT_CONFIG;
}

static int cmd_serve(int argc, char **argv)
{
    return zt_gateway_serve(zt_cli_config_path(argc, argv));
}

/* The file, then (unless --syntax-only) what serve would find when it starts with it: an OK
 * here means `ztgate serve` starts, bar a port in use or a full disk. */
static int cmd_check_config(int argc, char **argv)
{
    const char *path = NULL;
    bool syntax_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--syntax-only") == 0)
            syntax_only = true;
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
    }
    if (path == NULL)
        path = zt_cli_config_path(argc, argv);
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (cfg != NULL && zt_config_check_grants(cfg, &diags) > 0) {
        zt_config_free(cfg); /* valid, but it cannot be enforced as written */
        cfg = NULL;
    }
    if (diags.text.len > 0)
        fwrite(diags.text.data, 1, diags.text.len, stderr);
    int status = 0;
    char err[1024] = "";
    if (cfg == NULL) {
        fprintf(stderr, "%s: %u error(s)\n", path, diags.errors ? diags.errors : 1);
        status = 1;
    } else if (!syntax_only && zt_gateway_preflight(cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: serve would not start: %s\n", path, err);
        status = 1;
    } else {
        printf("%s: OK (%zu listener(s), %zu app(s))\n", path, cfg->n_listeners, cfg->n_apps);
    }
    zt_config_free(cfg);
    zt_diags_dispose(&diags);
    return status;
}

static const zt_command commands[] = {
    {"serve", "[--config FILE]", "run the gateway", cmd_serve},
    {"check-config", "[FILE | --config FILE]",
     "validate a configuration file and what serve would open with it", cmd_check_config},
    {"user", "ACTION [ARGS]", "manage users (ztgate user help)", zt_cmd_user_roster},
    {"group", "ACTION [ARGS]", "manage groups (ztgate group help)", zt_cmd_group},
    {"audit", "verify|search|stats|tail [ARGS]", "verify, search, count and follow the audit log",
     zt_cmd_audit},
    {"whatif", "--user EMAIL --app APP [...]",
     "explain the Conditional Access decision for a simulated sign-in", zt_cmd_whatif},
    {"policy", "test FILE [--json]", "run a file of policy test cases (for CI)", zt_cmd_policy},
    {"risk", "ACTION [ARGS]", "risk detections and user risk (ztgate risk help)", zt_cmd_risk},
    {"device", "ACTION [ARGS]", "enrolment codes and enrolled devices (ztgate device help)",
     zt_cmd_device},
    {"incident", "ACTION [ARGS]", "incidents and their timelines (ztgate incident help)",
     zt_cmd_incident},
    {"access", "review [--format F]", "who reaches which app, by which policy (access review)",
     zt_cmd_access},
    {"ldap", "ACTION [ARGS]", "check an LDAP directory or sync it now (ztgate ldap help)",
     zt_cmd_ldap},
    {"admin", "ACTION [ARGS]", "administrators, roles and API tokens (ztgate admin help)",
     zt_cmd_admin},
    {"assess", "[--json | --html FILE] [--save]",
     "Zero Trust assessment: stage per pillar and next measures (ztgate assess --help)",
     zt_cmd_assess},
    {"store", "migrate --config NEW.yaml [--from DIR]",
     "copy a SQLite store into PostgreSQL, verified (ztgate store help)", zt_cmd_store},
};

const zt_command *zt_command_find(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void zt_commands_usage(void)
{
    fprintf(stderr, "usage: ztgate SUBCOMMAND [ARGS]\n\nSubcommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(stderr, "  %-14s %-28s %s\n", commands[i].name, commands[i].usage,
                commands[i].summary);
    fprintf(stderr,
            "\nThe configuration is --config FILE, else $ZTGATE_CONFIG, else %s.\n"
            "  ztgate --version     print the version\n",
            DEFAULT_CONFIG);
}

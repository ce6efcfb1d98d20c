/* Helpers shared by the admin CLI's identity commands: argument parsing, opening the store named
 * by the config, reading a password from stdin (never argv), aligned tables and JSON output.
 * This layer prints (stderr for errors, stdout for results); exit statuses are 0 ok, 1 failure,
 * 2 usage error. */
#ifndef ZT_CLI_CLI_UTIL_H
#define ZT_CLI_CLI_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session/account.h"
#include "store/store.h"

#define ZT_CLI_OK 0
#define ZT_CLI_FAIL 1
#define ZT_CLI_USAGE 2

#define ZT_CLI_MAX_POS 4
#define ZT_CLI_PASSWORD_MAX 1024 /* bytes read from stdin; longer input is refused unread */
#define ZT_CLI_HASH_MAX 128      /* encoded argon2id string, NUL included */

/* Options a subcommand accepts besides --config (always accepted, read by zt_cli_config_path). */
enum {
    ZT_CLI_OPT_JSON = 1u << 0,
    ZT_CLI_OPT_NAME = 1u << 1,
    ZT_CLI_OPT_GROUP = 1u << 2,
    ZT_CLI_OPT_PASSWORD_STDIN = 1u << 3,
    ZT_CLI_OPT_TAP = 1u << 4, /* --lifetime D, --uses N, --revoke (user tap) */
    /* Account lifecycle (cmd_lifecycle.c): --expires DATE, --sponsor EMAIL (user add, set). */
    ZT_CLI_OPT_LIFECYCLE = 1u << 5,
    ZT_CLI_OPT_REPORT = 1u << 6, /* --days N, --format table|csv|json (user inactive, access) */
    /* Named administrators (cmd_admin.c): --role R, --scope GROUP (repeatable, into groups),
     * --scopes LIST, --expires LIFETIME. */
    ZT_CLI_OPT_ADMIN = 1u << 7,
};

/* Pointers into argv; nothing owned. */
typedef struct zt_cli_args {
    const char *pos[ZT_CLI_MAX_POS];
    size_t n_pos;
    bool json;
    bool password_stdin;
    const char *name;
    const char *groups[ZT_STORE_USER_GROUPS_MAX];
    size_t n_groups;
    const char *lifetime, *uses; /* ZT_CLI_OPT_TAP; NULL when not given */
    bool revoke;
    const char *expires, *sponsor; /* ZT_CLI_OPT_LIFECYCLE; NULL when not given */
    const char *days, *format;     /* ZT_CLI_OPT_REPORT; NULL when not given */
    const char *role, *scopes;     /* ZT_CLI_OPT_ADMIN; NULL when not given */
} zt_cli_args;

/* Parse argv[first..argc): the options in `allowed` and exactly n_pos positionals ("--" ends
 * options). 0, or prints the problem and `usage` to stderr and returns ZT_CLI_USAGE. */
int zt_cli_parse(int argc, char **argv, int first, unsigned allowed, size_t n_pos,
                 const char *usage, zt_cli_args *out);

/* One action of a command ("user add"): its options, positional count and body. */
typedef struct zt_cli_action {
    const char *name;
    const char *usage; /* after "ztgate CMD " */
    const char *summary;
    unsigned opts;
    size_t n_pos;
    int (*run)(zt_store *st, const zt_cli_args *a);
} zt_cli_action;

/* `ztgate CMD ACTION ARGS`: argv[0] is CMD. Finds the action, parses its arguments, opens the
 * store, runs it and closes the store. "help"/--help lists the actions. Returns the exit status. */
int zt_cli_dispatch(const char *cmd, const zt_cli_action *acts, size_t n, int argc, char **argv);

/* Load the config (--config, $ZTGATE_CONFIG, default) and open the store in its state_dir.
 * NULL after printing why. Close with zt_store_close. */
zt_store *zt_cli_open_store(int argc, char **argv);

/* For a command that loads its configuration itself (store migrate): the state_dir whose audit
 * spool takes this command's records, as zt_cli_open_store sets it. */
void zt_cli_use_config(const struct zt_config *cfg);

/* This command's id: the metadata.uid of its audit record, and the request id it hands to
 * services so their records and incident timelines point back to it. */
const char *zt_cli_request_id(void);
/* Queue one audit record (a JSON object from zt_event_end) in STATE_DIR/audit-spool for the
 * gateway to append, after the records queued before it. 0 (also when audit is off, or no
 * store was opened yet) or a negative errno. */
int zt_cli_audit_queue(const char *json, size_t len);

/* For a command that queues many records at once (user import): each record file is written
 * without its own fsync, and zt_cli_audit_flush makes them all durable with one syncfs of the
 * spool's file system before the command reports success. 0 or a negative errno. */
void zt_cli_audit_defer_sync(void);
int zt_cli_audit_flush(void);

/* Queue the record of a changing command's own call ("ztgate CMD ACTION (command line)" with its
 * argv), which zt_cli_dispatch writes for the actions it runs; for commands that parse their
 * own options (user import). 0 or a negative errno. */
int zt_cli_audit_command(const char *cmd, const char *action, int argc, char **argv);

/* The account service (session/account.h) as the CLI uses it: the store, STATE_DIR's revocation
 * counter, and the audit spool as the sink of its records. Valid after zt_cli_open_store. */
zt_account_env zt_cli_account_env(zt_store *st);
/* Who runs this command: the Unix user, process "ztgate-cli", this command's request id. */
const zt_actor *zt_cli_actor(void);
/* After a saved change: say so when its record could not be queued or running gateways were not
 * told. ZT_CLI_OK, or ZT_CLI_FAIL after printing what to fix. */
int zt_cli_account_done(const zt_account_result *res);

/* "ztgate: MESSAGE" on stderr; returns status. */
int zt_cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a store error: "not found"/"already exists" in the admin's words when `who` names the
 * thing, else the store's message. Returns ZT_CLI_FAIL. */
int zt_cli_store_fail(int rc, const char *what, const char *who);

/* Read a password from stdin (--password-stdin): all of it from a pipe or file, one line with
 * echo off (asked twice) from a terminal; one trailing newline is stripped. Then check it against
 * the password policy (12..128 characters) and hash it with argon2id into out. The clear text
 * only lives in a wiped buffer. 0, or prints why and returns ZT_CLI_FAIL. */
int zt_cli_password_stdin(char *out, size_t outlen);
/* Policy check and argon2id hash of pw (t=3, m=64 MiB, via src/identity/password.h). 0, or
 * prints why and returns ZT_CLI_FAIL. */
int zt_cli_hash_password(const char *pw, size_t len, char *out, size_t outlen);

/* "2026-01-02T03:04:05Z", or "-" for 0. */
void zt_cli_time(int64_t t, char out[32]);
/* The same as a JSON string, or null for 0. New reference. */
json_t *zt_cli_json_time(int64_t t);
/* Print v (indented, keys in insertion order) and a newline to stdout; steals the reference.
 * ZT_CLI_OK, or ZT_CLI_FAIL when v is NULL (out of memory) or stdout fails. */
int zt_cli_json_print(json_t *v);

/* An aligned text table: every cell is copied; widths count terminal columns, so Japanese names
 * line up. */
typedef struct zt_cli_table {
    size_t ncols;
    char **cells; /* row-major, headers first */
    size_t nrows; /* including the header row */
    size_t cap;   /* rows allocated */
} zt_cli_table;

int zt_cli_table_init(zt_cli_table *t, size_t ncols, const char *const *headers);
/* cells has ncols entries; NULL prints as "-". 0 or -ENOMEM. */
int zt_cli_table_add(zt_cli_table *t, const char *const *cells);
int zt_cli_table_print(const zt_cli_table *t);
void zt_cli_table_dispose(zt_cli_table *t);

#endif

#include "cli/cli_util.h"

#include <errno.h>
#include <sys/stat.h>
#include <pwd.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <uniwidth.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "cli/commands.h"
#include "core/config.h"
#include "identity/breach.h"
#include "identity/password.h"
#include "lib/file.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/session.h"

int zt_cli_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ztgate: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int zt_cli_store_fail(int rc, const char *what, const char *who)
{
    if (rc == -ENOENT && who != NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "%s %s not found", what, who);
    if (rc == -EEXIST && who != NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "%s %s already exists", what, who);
    const char *msg = zt_store_errmsg();
    if (msg[0] == '\0')
        return zt_cli_fail(ZT_CLI_FAIL, "store error: %s", strerror(-rc));
    return zt_cli_fail(ZT_CLI_FAIL, "%s", msg);
}

/* ---- arguments ---- */

/* Match `--opt VALUE` or `--opt=VALUE` at argv[*i]: 1 matched (value in *val), 0 no match, -1
 * when the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *opt, const char **val)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

static int parse_opt(int argc, char **argv, int *i, unsigned allowed, zt_cli_args *out)
{
    const char *a = argv[*i], *val = NULL;
    int m;
    if ((m = opt_value(argc, argv, i, "--config", &val)) != 0)
        return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "--config needs a FILE");
    if ((allowed & ZT_CLI_OPT_JSON) && strcmp(a, "--json") == 0) {
        out->json = true;
        return 0;
    }
    if ((allowed & ZT_CLI_OPT_PASSWORD_STDIN) && strcmp(a, "--password-stdin") == 0) {
        out->password_stdin = true;
        return 0;
    }
    if (strncmp(a, "--password", 10) == 0 && (a[10] == '\0' || a[10] == '='))
        return zt_cli_fail(ZT_CLI_USAGE, "passwords are never taken from the command line; "
                                         "pipe it in with --password-stdin");
    if ((allowed & ZT_CLI_OPT_NAME) && (m = opt_value(argc, argv, i, "--name", &val)) != 0) {
        out->name = val;
        return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "--name needs a value");
    }
    if ((allowed & ZT_CLI_OPT_GROUP) && (m = opt_value(argc, argv, i, "--group", &val)) != 0) {
        if (m < 0)
            return zt_cli_fail(ZT_CLI_USAGE, "--group needs a value");
        if (out->n_groups == ZT_STORE_USER_GROUPS_MAX)
            return zt_cli_fail(ZT_CLI_USAGE, "at most %d --group options",
                               ZT_STORE_USER_GROUPS_MAX);
        out->groups[out->n_groups++] = val;
        return 0;
    }
    if ((allowed & ZT_CLI_OPT_TAP) && (m = opt_value(argc, argv, i, "--lifetime", &val)) != 0) {
        out->lifetime = val;
        return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "--lifetime needs a duration like 1h");
    }
    if ((allowed & ZT_CLI_OPT_TAP) && (m = opt_value(argc, argv, i, "--uses", &val)) != 0) {
        out->uses = val;
        return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "--uses needs a number or 'unlimited'");
    }
    if ((allowed & ZT_CLI_OPT_TAP) && strcmp(a, "--revoke") == 0) {
        out->revoke = true;
        return 0;
    }
    if (allowed & ZT_CLI_OPT_LIFECYCLE)
        if ((m = opt_value(argc, argv, i, "--expires", &out->expires)) != 0 ||
            (m = opt_value(argc, argv, i, "--sponsor", &out->sponsor)) != 0)
            return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "%s needs a value", a);
    if ((allowed & ZT_CLI_OPT_ADMIN) && (m = opt_value(argc, argv, i, "--scope", &val)) != 0) {
        if (m < 0)
            return zt_cli_fail(ZT_CLI_USAGE, "--scope needs a group name");
        if (out->n_groups == ZT_STORE_USER_GROUPS_MAX)
            return zt_cli_fail(ZT_CLI_USAGE, "at most %d --scope options",
                               ZT_STORE_USER_GROUPS_MAX);
        out->groups[out->n_groups++] = val;
        return 0;
    }
    if (allowed & ZT_CLI_OPT_ADMIN)
        if ((m = opt_value(argc, argv, i, "--role", &out->role)) != 0 ||
            (m = opt_value(argc, argv, i, "--scopes", &out->scopes)) != 0 ||
            (m = opt_value(argc, argv, i, "--expires", &out->expires)) != 0)
            return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "%s needs a value", a);
    if (allowed & ZT_CLI_OPT_REPORT)
        if ((m = opt_value(argc, argv, i, "--days", &out->days)) != 0 ||
            (m = opt_value(argc, argv, i, "--format", &out->format)) != 0)
            return m > 0 ? 0 : zt_cli_fail(ZT_CLI_USAGE, "%s needs a value", a);
    return zt_cli_fail(ZT_CLI_USAGE, "unknown option '%s'", a);
}

int zt_cli_parse(int argc, char **argv, int first, unsigned allowed, size_t n_pos,
                 const char *usage, zt_cli_args *out)
{
    memset(out, 0, sizeof(*out));
    bool opts = true;
    int rc = 0;
    for (int i = first; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0)
            opts = false;
        else if (opts && a[0] == '-' && a[1] != '\0')
            rc = parse_opt(argc, argv, &i, allowed, out);
        else if (out->n_pos == n_pos || out->n_pos == ZT_CLI_MAX_POS)
            rc = zt_cli_fail(ZT_CLI_USAGE, "unexpected argument '%s'", a);
        else
            out->pos[out->n_pos++] = a;
    }
    if (rc == 0 && out->n_pos < n_pos)
        rc = zt_cli_fail(ZT_CLI_USAGE, "missing argument");
    if (rc != 0)
        fprintf(stderr, "usage: ztgate %s\n", usage);
    return rc;
}

/* ---- store ---- */

/* The password rules of the configuration the store came from: the CLI hashes and checks
 * passwords exactly as the gateway's portal would (lengths, breached corpus, argon2id). */
static struct {
    bool set;
    zt_password_policy policy;
    zt_password_params params;
    char breach_path[4096];
} cli_pw;

/* Where this command's audit record goes: STATE_DIR/audit-spool, which the gateway drains into
 * its hash-chained log (a second process cannot append to the chain itself). "" = audit off. */
static char cli_spool_dir[4096];
/* STATE_DIR of that configuration: where the revocation counter is. */
static char cli_state_dir[4096];

static void cli_remember_password_rules(const zt_config *cfg)
{
    if (strcmp(cfg->audit.path, "off") != 0)
        snprintf(cli_spool_dir, sizeof(cli_spool_dir), "%s/%s", cfg->state_dir, ZT_AUDIT_SPOOL_DIR);
    else
        cli_spool_dir[0] = '\0';
    snprintf(cli_state_dir, sizeof(cli_state_dir), "%s", cfg->state_dir ? cfg->state_dir : "");
    cli_pw.set = true;
    cli_pw.policy =
        (zt_password_policy){cfg->auth.password_min_chars, cfg->auth.password_max_chars};
    cli_pw.params = (zt_password_params){cfg->auth.argon2_passes, (size_t)cfg->auth.argon2_memory};
    snprintf(cli_pw.breach_path, sizeof(cli_pw.breach_path), "%s",
             cfg->auth.breach_corpus ? cfg->auth.breach_corpus : "");
}

void zt_cli_use_config(const zt_config *cfg)
{
    cli_remember_password_rules(cfg);
}

/* The audit spool and the revocation counter live in STATE_DIR. SQLite's store creates the
 * directory for its file; a PostgreSQL store does not, so a command run before the first
 * gateway start (ztgate user add) makes it here, 0700 like the store would. */
static bool cli_make_state_dir(const zt_config *cfg)
{
    char failed[4096] = "";
    int rc = cfg->state_dir != NULL ? zt_mkdir_p(cfg->state_dir, 0700, failed, sizeof(failed)) : 0;
    if (rc == 0)
        return true;
    zt_cli_fail(ZT_CLI_FAIL, "cannot create %s: %s", failed, strerror(-rc));
    return false;
}

zt_store *zt_cli_open_store(int argc, char **argv)
{
    if (!zt_secure_init()) {
        zt_cli_fail(ZT_CLI_FAIL, "libsodium cannot initialise");
        return NULL;
    }
    const char *path = zt_cli_config_path(argc, argv);
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    zt_store *st = NULL;
    if (cfg == NULL) {
        if (diags.text.len > 0)
            fwrite(diags.text.data, 1, diags.text.len, stderr);
        zt_cli_fail(ZT_CLI_FAIL, "cannot use configuration %s", path);
    } else {
        char err[512];
        cli_remember_password_rules(cfg);
        st = zt_store_open_config(cfg, err, sizeof(err));
        if (st == NULL)
            zt_cli_fail(ZT_CLI_FAIL, "%s", err);
        else if (!cli_make_state_dir(cfg)) {
            zt_store_close(st);
            st = NULL;
        }
    }
    zt_config_free(cfg);
    zt_diags_dispose(&diags);
    return st;
}

static void actions_usage(FILE *f, const char *cmd, const zt_cli_action *acts, size_t n)
{
    fprintf(f, "usage: ztgate %s ACTION [ARGS] [--config FILE]\n\nActions:\n", cmd);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %s %-54s %s\n", cmd, acts[i].usage, acts[i].summary);
}

static bool action_is_read_only(const char *action)
{
    static const char *const reads[] = {"list", "show",   "sessions", "members", "search",
                                        "tail", "verify", "inactive", "review"};
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        if (strcmp(action, reads[i]) == 0)
            return true;
    return false;
}

const char *zt_cli_request_id(void)
{
    static char id[33];
    if (id[0] == '\0')
        zt_random_hex(id, 16);
    return id;
}

/* One record as one file: written to a temporary name, then renamed, so a half-written record
 * is never picked up. Names sort in the order this process queued them (the gateway appends
 * in name order). */
/* zt_cli_audit_defer_sync: records written without an fsync each, synced by zt_cli_audit_flush. */
static bool cli_defer_sync;

void zt_cli_audit_defer_sync(void)
{
    cli_defer_sync = true;
}

int zt_cli_audit_flush(void)
{
    if (!cli_defer_sync || cli_spool_dir[0] == '\0')
        return 0;
    cli_defer_sync = false;
    int fd = open(cli_spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int rc = syncfs(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

int zt_cli_audit_queue(const char *json, size_t len)
{
    static uint64_t last_us;
    if (cli_spool_dir[0] == '\0')
        return 0;
    if (mkdir(cli_spool_dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    char id[33], tmp[4200], final[4200];
    zt_random_hex(id, 16);
    uint64_t us = (uint64_t)zt_wall_us();
    last_us = us > last_us ? us : last_us + 1;
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", cli_spool_dir, id);
    snprintf(final, sizeof(final), "%s/%016" PRIx64 "-%s.json", cli_spool_dir, last_us, id);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        rc = -errno;
    if (rc == 0 && (write(fd, json, len) != (ssize_t)len || (!cli_defer_sync && fsync(fd) != 0)))
        rc = -EIO;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, final) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/* ---- the account service ---- */

static int spool_sink(void *ctx, const char *json, size_t len)
{
    (void)ctx;
    return zt_cli_audit_queue(json, len);
}

zt_account_env zt_cli_account_env(zt_store *st)
{
    return (zt_account_env){.store = st,
                            .state_dir = cli_state_dir[0] != '\0' ? cli_state_dir : NULL,
                            .audit = {.write = spool_sink, .ctx = NULL}};
}

const zt_actor *zt_cli_actor(void)
{
    static char user[64];
    static zt_actor who;
    if (user[0] == '\0') {
        const struct passwd *pw = getpwuid(geteuid());
        snprintf(user, sizeof(user), "%s", pw != NULL ? pw->pw_name : "?");
    }
    who = (zt_actor){
        .name = user, .type = "Admin", .process = "ztgate-cli", .request_id = zt_cli_request_id()};
    return &who;
}

int zt_cli_account_done(const zt_account_result *res)
{
    int rc = ZT_CLI_OK;
    if (res->audit_rc != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL,
                         "the change is saved, but its audit record could not be queued in %s (%s)",
                         cli_spool_dir, strerror(-res->audit_rc));
    if (res->revocation_rc != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL,
                         "the change is saved, but running gateways were not told: cannot update "
                         "%s/%s (%s); they keep using cached sessions until restarted. Fix the "
                         "file's ownership or permissions, then restart the gateways",
                         cli_state_dir[0] != '\0' ? cli_state_dir : "(state_dir)",
                         ZT_REVOCATION_FILE, strerror(-res->revocation_rc));
    return rc;
}

/* Every change made with the CLI is an audit record (Account Change) naming the command line.
 * Passwords never reach argv, so the command line is safe to keep. */
static int cli_audit_spool(const char *cmd, const char *action, int argc, char **argv)
{
    if (cli_spool_dir[0] == '\0')
        return 0;
    zt_buf b, line;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    zt_buf_init(&line, 16 * 1024);
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        if (i > 0)
            rc = zt_buf_append_char(&line, ' ');
        rc = rc ? rc : zt_buf_append_str(&line, argv[i]);
    }
    const struct passwd *pw = getpwuid(geteuid());
    char msg[160];
    snprintf(msg, sizeof(msg), "ztgate %s %s (command line)", cmd, action);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_ACCOUNT_CHANGE, 99, ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", msg);
    zt_event_str(&ev, "actor.process.name", "ztgate-cli");
    zt_event_str(&ev, "actor.user.name", pw != NULL ? pw->pw_name : "?");
    zt_event_strn(&ev, "unmapped.command_line", line.data ? line.data : "", line.len);
    zt_event_metadata(&ev, zt_cli_request_id(), NULL);
    rc = rc ? rc : zt_event_end(&ev);
    if (rc == 0)
        rc = zt_cli_audit_queue(b.data, b.len);
    zt_buf_dispose(&b);
    zt_buf_dispose(&line);
    return rc;
}

int zt_cli_audit_command(const char *cmd, const char *action, int argc, char **argv)
{
    return cli_audit_spool(cmd, action, argc, argv);
}

int zt_cli_dispatch(const char *cmd, const zt_cli_action *acts, size_t n, int argc, char **argv)
{
    const char *name = argc >= 2 ? argv[1] : NULL;
    if (name != NULL &&
        (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)) {
        actions_usage(stdout, cmd, acts, n);
        return ZT_CLI_OK;
    }
    const zt_cli_action *act = NULL;
    for (size_t i = 0; name != NULL && i < n && act == NULL; i++)
        if (strcmp(acts[i].name, name) == 0)
            act = &acts[i];
    if (act == NULL) {
        if (name != NULL)
            zt_cli_fail(ZT_CLI_USAGE, "unknown action '%s %s'", cmd, name);
        actions_usage(stderr, cmd, acts, n);
        return ZT_CLI_USAGE;
    }
    char usage[160];
    snprintf(usage, sizeof(usage), "%s %s [--config FILE]", cmd, act->usage);
    zt_cli_args a;
    if (zt_cli_parse(argc, argv, 2, act->opts, act->n_pos, usage, &a) != 0)
        return ZT_CLI_USAGE;
    if ((act->opts & ZT_CLI_OPT_PASSWORD_STDIN) && !a.password_stdin) {
        zt_cli_fail(ZT_CLI_USAGE,
                    "%s %s needs --password-stdin (passwords are never taken from "
                    "the command line)",
                    cmd, act->name);
        fprintf(stderr, "usage: ztgate %s\n", usage);
        return ZT_CLI_USAGE;
    }
    zt_store *st = zt_cli_open_store(argc, argv);
    if (st == NULL)
        return ZT_CLI_FAIL;
    int rc = act->run(st, &a);
    zt_store_close(st);
    if (rc == ZT_CLI_OK && !action_is_read_only(act->name) &&
        cli_audit_spool(cmd, act->name, argc, argv) != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL,
                         "the change is saved, but its audit record could not be "
                         "queued in %s",
                         cli_spool_dir);
    return rc;
}

/* ---- passwords ---- */

/* Read into buf until EOF (or the first newline when one_line). -E2BIG when more than cap bytes
 * arrive: one extra byte is read to tell "exactly full" from "too much". */
static int read_input(int fd, char *buf, size_t cap, size_t *len, bool one_line)
{
    size_t n = 0;
    for (;;) {
        char extra;
        char *dst = n < cap ? buf + n : &extra;
        ssize_t r = read(fd, dst, n < cap ? cap - n : 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        if (dst == &extra) {
            zt_wipe(&extra, 1);
            return -E2BIG;
        }
        n += (size_t)r;
        if (one_line && memchr(buf + n - (size_t)r, '\n', (size_t)r) != NULL)
            break;
    }
    *len = n;
    return 0;
}

/* One line from the terminal with echo off; the prompt goes to stderr so stdout stays clean. */
static int read_tty_line(const char *prompt, char *buf, size_t cap, size_t *len)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -errno;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
        return -errno;
    int rc = read_input(STDIN_FILENO, buf, cap, len, true);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return rc;
}

/* Strip one trailing newline (LF or CRLF); refuse any other line break or NUL. */
static int strip_newline(char *buf, size_t *len)
{
    size_t n = *len;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0')
            return zt_cli_fail(ZT_CLI_FAIL, "the password must be one line without NUL bytes");
    *len = n;
    buf[n] = '\0';
    return n > 0 ? 0 : zt_cli_fail(ZT_CLI_FAIL, "no password on stdin");
}

static int read_error(int rc)
{
    if (rc == -E2BIG)
        return zt_cli_fail(ZT_CLI_FAIL, "password on stdin is longer than %d bytes",
                           ZT_CLI_PASSWORD_MAX);
    return zt_cli_fail(ZT_CLI_FAIL, "reading the password from stdin: %s", strerror(-rc));
}

/* From a terminal: ask twice so a typo does not lock the account out. */
static int read_tty_password(char *pw, size_t cap, size_t *len)
{
    char again[ZT_CLI_PASSWORD_MAX + 3];
    size_t n2 = 0;
    int rc = read_tty_line("Password: ", pw, cap, len);
    if (rc == 0)
        rc = read_tty_line("Repeat password: ", again, sizeof(again) - 1, &n2);
    if (rc != 0)
        rc = read_error(rc);
    else if (*len != n2 || !zt_ct_eq(pw, again, n2))
        rc = zt_cli_fail(ZT_CLI_FAIL, "the passwords do not match");
    zt_wipe(again, sizeof(again));
    return rc;
}

int zt_cli_password_stdin(char *out, size_t outlen)
{
    /* Room for the limit plus CRLF and a NUL. */
    char pw[ZT_CLI_PASSWORD_MAX + 3];
    size_t len = 0;
    int rc;
    if (isatty(STDIN_FILENO))
        rc = read_tty_password(pw, sizeof(pw) - 1, &len);
    else if ((rc = read_input(STDIN_FILENO, pw, sizeof(pw) - 1, &len, false)) != 0)
        rc = read_error(rc);
    if (rc == 0)
        rc = strip_newline(pw, &len);
    if (rc == 0 && len > ZT_CLI_PASSWORD_MAX)
        rc = read_error(-E2BIG);
    if (rc == 0)
        rc = zt_cli_hash_password(pw, len, out, outlen);
    zt_wipe(pw, sizeof(pw));
    return rc;
}

int zt_cli_hash_password(const char *pw, size_t len, char *out, size_t outlen)
{
    if (outlen < ZT_PASSWORD_ENCODED_MAX)
        return zt_cli_fail(ZT_CLI_FAIL, "internal error: hash buffer too small");
    const char *why = NULL;
    zt_breach *corpus = NULL;
    if (cli_pw.set && cli_pw.breach_path[0] != '\0') {
        char err[512];
        corpus = zt_breach_open(cli_pw.breach_path, 0, err, sizeof(err));
        if (corpus == NULL)
            return zt_cli_fail(ZT_CLI_FAIL, "auth.breached_passwords: %s", err);
    }
    int v = zt_password_check(pw, len, cli_pw.set ? &cli_pw.policy : NULL, corpus, &why);
    zt_breach_close(corpus);
    if (v < 0)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    if (v != ZT_PASSWORD_OK)
        return zt_cli_fail(ZT_CLI_FAIL, "password refused: %s",
                           why != NULL ? why : "it does not meet the password policy");
    int rc = zt_password_hash(pw, len, cli_pw.set ? &cli_pw.params : NULL, out);
    if (rc != 0)
        return zt_cli_fail(ZT_CLI_FAIL, "hashing the password failed: %s", strerror(-rc));
    return ZT_CLI_OK;
}

/* ---- output ---- */

void zt_cli_time(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "-");
}

json_t *zt_cli_json_time(int64_t t)
{
    char buf[32];
    zt_cli_time(t, buf);
    return t > 0 ? json_string(buf) : json_null();
}

int zt_cli_json_print(json_t *v)
{
    if (v == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory building JSON");
    int rc = json_dumpf(v, stdout, JSON_INDENT(2));
    json_decref(v);
    if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        return zt_cli_fail(ZT_CLI_FAIL, "writing to stdout failed");
    return ZT_CLI_OK;
}

static int table_grow(zt_cli_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
    if (cells == NULL)
        return -ENOMEM;
    t->cells = cells;
    t->cap = cap;
    return 0;
}

int zt_cli_table_init(zt_cli_table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    return zt_cli_table_add(t, headers);
}

int zt_cli_table_add(zt_cli_table *t, const char *const *cells)
{
    if (t->nrows == t->cap && table_grow(t) != 0)
        return -ENOMEM;
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] != NULL ? cells[i] : "-");
        if (row[i] == NULL) {
            while (i-- > 0)
                free(row[i]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

/* Terminal columns of s: East Asian wide characters count two. */
static size_t cell_width(const char *s)
{
    int w = u8_strwidth((const uint8_t *)s, "UTF-8");
    return w > 0 ? (size_t)w : 0;
}

int zt_cli_table_print(const zt_cli_table *t)
{
    size_t *width = calloc(t->ncols, sizeof(*width));
    if (width == NULL)
        return zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = cell_width(t->cells[r * t->ncols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            bool last = c + 1 == t->ncols;
            fputs(s, stdout);
            for (size_t pad = last ? 0 : width[c] - cell_width(s) + 2; pad > 0; pad--)
                fputc(' ', stdout);
        }
        fputc('\n', stdout);
    }
    free(width);
    return fflush(stdout) == 0 ? ZT_CLI_OK : zt_cli_fail(ZT_CLI_FAIL, "writing to stdout failed");
}

void zt_cli_table_dispose(zt_cli_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

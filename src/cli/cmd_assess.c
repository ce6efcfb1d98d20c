/* `ztgate assess`: the Zero Trust assessment (src/assess, docs/ASSESSMENT.md). Measures the live
 * config, the store and the audit log, prints the stage per pillar with its evidence and the
 * next measures (text, --json, or a self-contained --html FILE), keeps a run with --save, and
 * records the questionnaire's answers (`assess answer KEY VALUE`). Language: --lang en|ja, else
 * $LANG (ja* = Japanese). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assess/assess.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/config.h"
#include "lib/str.h"
#include "lib/time.h"

#define ASSESS_USAGE                                                                               \
    "usage: ztgate assess [--json | --html FILE] [--save] [--lang en|ja] [--window DAYS]\n"        \
    "       ztgate assess answer KEY VALUE\n"                                                      \
    "       ztgate assess questions [--json] [--lang en|ja]\n"                                     \
    "       ztgate assess history [--json]\n"                                                      \
    "       (every form takes --config FILE)\n"

typedef struct assess_opts {
    bool json, save;
    const char *html, *lang, *window;
    const char *pos[3];
    size_t n_pos;
} assess_opts;

/* "ztgate: WHAT ARG" (when what is given), then the usage; ZT_CLI_USAGE. */
static int usage(const char *what, const char *arg)
{
    if (what != NULL)
        fprintf(stderr, "ztgate: %s%s\n", what, arg != NULL ? arg : "");
    fputs(ASSESS_USAGE, stderr);
    return ZT_CLI_USAGE;
}

static int parse(int argc, char **argv, assess_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *ignored = NULL; /* --config: read by zt_cli_config_path */
        const char **val = strcmp(a, "--html") == 0     ? &o->html
                           : strcmp(a, "--lang") == 0   ? &o->lang
                           : strcmp(a, "--window") == 0 ? &o->window
                           : strcmp(a, "--config") == 0 ? &ignored
                                                        : NULL;
        if (val != NULL) {
            if (i + 1 >= argc)
                return usage("a value is needed after ", a);
            *val = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--save") == 0) {
            o->save = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(ASSESS_USAGE, stdout);
            return -1; /* answered */
        } else if (a[0] == '-' && strncmp(a, "--config=", 9) != 0) {
            return usage("unknown option ", a);
        } else if (a[0] != '-') {
            if (o->n_pos == 3)
                return usage("too many arguments at ", a);
            o->pos[o->n_pos++] = a;
        }
    }
    if (o->json && o->html != NULL)
        return usage("--json and --html go one at a time", NULL);
    if (o->lang != NULL && strcmp(o->lang, "en") != 0 && strcmp(o->lang, "ja") != 0)
        return usage("--lang must be en or ja, not ", o->lang);
    return 0;
}

static zt_lang pick_lang(const char *opt)
{
    if (opt != NULL)
        return strcmp(opt, "ja") == 0 ? ZT_LANG_JA : ZT_LANG_EN;
    const char *env = getenv("LC_ALL");
    if (env == NULL || env[0] == '\0')
        env = getenv("LANG");
    return env != NULL && strncmp(env, "ja", 2) == 0 ? ZT_LANG_JA : ZT_LANG_EN;
}

static zt_config *load_config(int argc, char **argv)
{
    const char *path = zt_cli_config_path(argc, argv);
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (cfg == NULL) {
        if (diags.text.len > 0)
            fwrite(diags.text.data, 1, diags.text.len, stderr);
        zt_cli_fail(ZT_CLI_FAIL, "cannot use configuration %s", path);
    }
    zt_diags_dispose(&diags);
    return cfg;
}

/* Write through a temporary file beside it and rename: a failure leaves no half report and an
 * older report in place. */
static int write_file(const char *path, const zt_buf *b)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= sizeof(tmp))
        return zt_cli_fail(ZT_CLI_FAIL, "cannot write %s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return zt_cli_fail(ZT_CLI_FAIL, "cannot write %s: %s", path, strerror(errno));
    size_t done = 0;
    int err = 0;
    while (err == 0 && done < b->len) {
        ssize_t n = write(fd, b->data + done, b->len - done);
        if (n < 0 && errno != EINTR)
            err = errno;
        else if (n > 0)
            done += (size_t)n;
    }
    if (err == 0 && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0) {
        unlink(tmp);
        return zt_cli_fail(ZT_CLI_FAIL, "cannot write %s: %s", path, strerror(err));
    }
    return ZT_CLI_OK;
}

typedef struct runs {
    zt_store_assess_run *v;
    size_t n, cap;
} runs;

static int run_cb(void *ctx, const zt_store_assess_run *r)
{
    runs *rs = ctx;
    if (zt_array_grow(&rs->v, &rs->cap, sizeof(*rs->v), 16) != 0)
        return -ENOMEM;
    rs->v[rs->n++] = *r;
    return 0;
}

static int keep_run(zt_store *st, const zt_assess_result *res, int64_t now)
{
    zt_account_env env = zt_cli_account_env(st);
    int arc = 0;
    int rc = zt_assess_keep(&env, zt_cli_actor(), res, now, &arc);
    if (rc != 0)
        return zt_cli_store_fail(rc, "assessment", NULL);
    if (arc != 0)
        fprintf(stderr, "ztgate: the run was kept, but its audit record could not be queued\n");
    return ZT_CLI_OK;
}

static int parse_window(const char *s, unsigned *out)
{
    unsigned long long v;
    *out = 0;
    if (s == NULL)
        return 0;
    if (!zt_parse_u64(s, strlen(s), 366, &v) || v == 0)
        return usage("--window must be a number of days, 1..366, not ", s);
    *out = (unsigned)v;
    return 0;
}

static int run_assess(const assess_opts *o, int argc, char **argv)
{
    unsigned window;
    int rc = parse_window(o->window, &window);
    if (rc != 0)
        return rc;
    zt_config *cfg = load_config(argc, argv);
    zt_store *st = cfg != NULL ? zt_cli_open_store(argc, argv) : NULL;
    if (st == NULL) {
        zt_config_free(cfg);
        return ZT_CLI_FAIL;
    }
    zt_lang lang = pick_lang(o->lang);
    int64_t now = zt_wall_us() / 1000000;
    zt_assess_facts *f = calloc(1, sizeof(*f));
    zt_assess_result *res = calloc(1, sizeof(*res));
    runs hist = {0};
    zt_buf out;
    zt_buf_init(&out, 16 * 1024 * 1024);
    rc = f != NULL && res != NULL ? 0 : -ENOMEM;
    if (rc == 0) {
        zt_assess_gather(cfg, st, now, window, f);
        if (!f->store_ok)
            fprintf(stderr,
                    "ztgate: the store could not be read (%s): its figures are not "
                    "measured\n",
                    zt_store_errmsg());
        if (f->audit_on && !f->audit_read)
            fprintf(stderr,
                    "ztgate: the audit log %s could not be read: its figures are not "
                    "measured\n",
                    cfg->audit.path);
        zt_assess_evaluate(f, res);
        if (o->html != NULL)
            zt_store_assess_run_list(st, 50, run_cb, &hist); /* a report without a trend is fine */
        rc = o->json           ? zt_assess_json(f, res, lang, &out)
             : o->html != NULL ? zt_assess_html(f, res, lang, hist.v, hist.n, &out)
                               : zt_assess_text(f, res, lang, &out);
    }
    if (rc != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL, "out of memory");
    else if (o->html != NULL)
        rc = write_file(o->html, &out);
    else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
        rc = zt_cli_fail(ZT_CLI_FAIL, "cannot write the report: %s", strerror(errno));
    if (rc == 0 && o->save)
        rc = keep_run(st, res, now);
    if (rc == 0 && o->html != NULL)
        fprintf(stderr, "ztgate: report written to %s\n", o->html);
    zt_buf_dispose(&out);
    free(hist.v);
    free(res);
    free(f);
    zt_store_close(st);
    zt_config_free(cfg);
    return rc;
}

static int list_values(const zt_assess_question *q)
{
    fprintf(stderr, "ztgate: %s takes one of:", q->key);
    for (int i = 0; i < ZT_ASSESS_Q_VALUES; i++)
        fprintf(stderr, " %s", q->values[i]);
    fputc('\n', stderr);
    return ZT_CLI_USAGE;
}

static int unknown_key(const char *key)
{
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    fprintf(stderr, "ztgate: no question '%s'; the questions are:\n", key);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %s\n", q[i].key);
    return ZT_CLI_USAGE;
}

static int run_answer(const assess_opts *o, int argc, char **argv)
{
    if (o->n_pos != 3)
        return usage("answer needs KEY and VALUE", NULL);
    const zt_assess_question *q = zt_assess_question_find(o->pos[1], NULL);
    if (q == NULL)
        return unknown_key(o->pos[1]);
    if (zt_assess_answer_index(q, o->pos[2]) < 0)
        return list_values(q);
    zt_store *st = zt_cli_open_store(argc, argv);
    if (st == NULL)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    int arc = 0;
    int rc =
        zt_assess_answer(&env, zt_cli_actor(), q->key, o->pos[2], zt_wall_us() / 1000000, &arc);
    if (rc != 0) {
        rc = zt_cli_store_fail(rc, "answer", NULL);
    } else {
        if (arc != 0)
            fprintf(stderr, "ztgate: the answer was saved, but its audit record could not be "
                            "queued\n");
        printf("%s = %s\n", q->key, o->pos[2]);
    }
    zt_store_close(st);
    return rc;
}

static int run_questions(const assess_opts *o)
{
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    zt_lang lang = pick_lang(o->lang);
    json_t *arr = o->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (arr != NULL) {
            json_array_append_new(arr, json_pack("{s:s, s:s, s:[s,s,s]}", "key", q[i].key,
                                                 "question", zt_msg_text(lang, q[i].text), "values",
                                                 q[i].values[0], q[i].values[1], q[i].values[2]));
            continue;
        }
        printf("%s\n  %s\n", q[i].key, zt_msg_text(lang, q[i].text));
        for (int v = 0; v < ZT_ASSESS_Q_VALUES; v++)
            printf("    %-10s %s\n", q[i].values[v], zt_msg_text(lang, q[i].value_text[v]));
    }
    return arr != NULL ? zt_cli_json_print(arr) : ZT_CLI_OK;
}

static int run_history(const assess_opts *o, int argc, char **argv)
{
    zt_store *st = zt_cli_open_store(argc, argv);
    if (st == NULL)
        return ZT_CLI_FAIL;
    runs hist = {0};
    int rc = zt_store_assess_run_list(st, 0, run_cb, &hist);
    zt_store_close(st);
    if (rc != 0) {
        free(hist.v);
        return zt_cli_store_fail(rc, "assessment history", NULL);
    }
    json_t *arr = o->json ? json_array() : NULL;
    if (arr == NULL) {
        printf("%-20s", "AT");
        for (int p = 0; p < ZT_PILLAR_COUNT; p++)
            printf(" %-12s", zt_pillar_key((zt_pillar)p));
        printf(" ACTOR\n");
    }
    for (size_t i = 0; i < hist.n; i++) {
        char at[32];
        zt_cli_time(hist.v[i].at, at);
        json_t *stages = arr != NULL ? json_object() : NULL;
        if (arr == NULL)
            printf("%-20s", at);
        for (int p = 0; p < ZT_PILLAR_COUNT; p++) {
            zt_stage s = (zt_stage)(hist.v[i].stages[p] - '0');
            if (stages != NULL)
                json_object_set_new(stages, zt_pillar_key((zt_pillar)p),
                                    json_string(zt_stage_key(s)));
            else
                printf(" %-12s", zt_stage_key(s));
        }
        if (arr != NULL)
            json_array_append_new(arr,
                                  json_pack("{s:I, s:o, s:s, s:o}", "id", (json_int_t)hist.v[i].id,
                                            "at", zt_cli_json_time(hist.v[i].at), "actor",
                                            hist.v[i].actor, "stages", stages));
        else
            printf(" %s\n", hist.v[i].actor);
    }
    free(hist.v);
    return arr != NULL ? zt_cli_json_print(arr) : ZT_CLI_OK;
}

int zt_cmd_assess(int argc, char **argv)
{
    assess_opts o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? ZT_CLI_OK : rc;
    if (o.n_pos == 0)
        return run_assess(&o, argc, argv);
    if (strcmp(o.pos[0], "help") == 0) {
        fputs(ASSESS_USAGE, stdout);
        return ZT_CLI_OK;
    }
    bool plain = !o.save && o.html == NULL && o.window == NULL;
    if (strcmp(o.pos[0], "answer") == 0 && plain && !o.json)
        return run_answer(&o, argc, argv);
    if (strcmp(o.pos[0], "questions") == 0 && plain && o.n_pos == 1)
        return run_questions(&o);
    if (strcmp(o.pos[0], "history") == 0 && plain && o.n_pos == 1)
        return run_history(&o, argc, argv);
    return usage("unknown action, or an option it does not take: ", o.pos[0]);
}

/* The agent's half of the device-code sign-in for tunnels (RFC 8628 field names; the gateway's
 * half is src/device/agent_signin.c, the protocol docs/TUNNELS.md). The code is shown with the
 * approval address built from agent.conf's server, never from the answer, and the code is never
 * put in a URL: a phishing page cannot hand the user a link that approves for someone else. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/str.h"

#define SIGNIN_START "/.ztgate/agent/signin/start"
#define SIGNIN_POLL "/.ztgate/agent/signin/poll"
#define SIGNIN_APPROVE "/.ztgate/agent/approve"
#define SIGNIN_INTERVAL_MAX_S 60
#define SIGNIN_WAIT_MAX_S 900 /* the gateway's codes live 5 minutes; never wait forever */

/* ---- the token cache ---- */

bool zta_token_path(const zta_ctx *ctx, char *out, size_t outlen)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int w;
    if (state != NULL && state[0] == '/')
        w = snprintf(out, outlen, "%s/ztagent/tunnel-%s.token", state, ctx->conf.device_id);
    else if (home != NULL && home[0] == '/')
        w = snprintf(out, outlen, "%s/.local/state/ztagent/tunnel-%s.token", home,
                     ctx->conf.device_id);
    else
        return false;
    return w > 0 && (size_t)w < outlen;
}

/* Creates the directories of path (mode 0700) up to its file name. */
static int make_parents(char *path)
{
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return 0;
}

bool zta_token_load(const zta_ctx *ctx, char out[ZTA_TOKEN_LEN + 1])
{
    char path[ZTA_PATH_MAX];
    if (!zta_token_path(ctx, path, sizeof path))
        return false;
    size_t n = 0;
    char *text = zta_read_file(path, 256, &n);
    if (text == NULL)
        return false;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    bool ok = n == ZTA_TOKEN_LEN;
    for (size_t i = 0; ok && i < n; i++) {
        char c = text[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_';
    }
    if (ok) {
        memcpy(out, text, ZTA_TOKEN_LEN);
        out[ZTA_TOKEN_LEN] = '\0';
    }
    memset(text, 0, n);
    free(text);
    return ok;
}

void zta_token_forget(const zta_ctx *ctx)
{
    char path[ZTA_PATH_MAX];
    if (zta_token_path(ctx, path, sizeof path))
        (void)unlink(path);
}

static int token_save(const zta_ctx *ctx, const char *token)
{
    char path[ZTA_PATH_MAX];
    if (!zta_token_path(ctx, path, sizeof path) || make_parents(path) != 0 ||
        zta_write_file(path, token, strlen(token), 0600) != 0) {
        fprintf(stderr, "ztagent: cannot store the tunnel token (set XDG_STATE_HOME or HOME)\n");
        return -1;
    }
    return 0;
}

/* ---- the exchange ---- */

/* POSTs body to path with the device certificate; *status and the JSON object answered. */
static int post(const zta_ctx *ctx, const char *path, json_t *body, int *status, json_t **ans)
{
    zta_tls tls;
    zta_tls_files files;
    char err[512];
    char *text = json_dumps(body, JSON_COMPACT);
    if (text == NULL || zta_ctx_tls(ctx, &tls, &files) != 0) {
        free(text);
        return -1;
    }
    zt_buf resp;
    zt_buf_init(&resp, ZTA_BODY_MAX);
    int rc = zta_https(ctx->conf.server, &tls, "POST", path, text, strlen(text), status, &resp,
                       NULL, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "ztagent: POST %s: %s\n", path, err);
    } else {
        json_error_t jerr;
        *ans = json_loadb(resp.data ? resp.data : "", resp.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(*ans)) {
            fprintf(stderr, "ztagent: POST %s: answer %d is not a JSON object\n", path, *status);
            json_decref(*ans);
            *ans = NULL;
            rc = -1;
        }
    }
    if (resp.data != NULL)
        memset(resp.data, 0, resp.len); /* it may hold the token */
    zt_buf_dispose(&resp);
    return rc;
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : "";
}

/* The user code as the gateway shows it: XXXX-XXXX from the enrolment alphabet. */
static bool user_code_ok(const char *c)
{
    if (strlen(c) != 9 || c[4] != '-')
        return false;
    for (size_t i = 0; i < 9; i++)
        if (i != 4 && strchr("ABCDEFGHJKMNPQRSTUVWXYZ23456789", c[i]) == NULL)
            return false;
    return true;
}

static int poll_until_done(const zta_ctx *ctx, const char *device_code, long interval)
{
    time_t deadline = time(NULL) + SIGNIN_WAIT_MAX_S;
    while (time(NULL) < deadline) {
        sleep((unsigned)interval);
        json_t *body = json_pack("{s:s}", "device_code", device_code), *ans = NULL;
        int status = 0;
        int rc = body ? post(ctx, SIGNIN_POLL, body, &status, &ans) : -1;
        json_decref(body);
        if (rc != 0)
            return ZTA_EXIT_ERR;
        const char *error = str_of(ans, "error");
        int res = -1;
        if (status == 200 && strlen(str_of(ans, "token")) == ZTA_TOKEN_LEN) {
            res = token_save(ctx, str_of(ans, "token")) == 0 ? ZTA_EXIT_OK : ZTA_EXIT_ERR;
            if (res == ZTA_EXIT_OK)
                fprintf(stderr, "ztagent: approved; signed in\n");
        } else if (strcmp(error, "slow_down") == 0) {
            interval = interval + 5 > SIGNIN_INTERVAL_MAX_S ? SIGNIN_INTERVAL_MAX_S : interval + 5;
        } else if (strcmp(error, "access_denied") == 0) {
            fprintf(stderr, "ztagent: the sign-in was denied\n");
            res = ZTA_EXIT_FAIL;
        } else if (strcmp(error, "expired_token") == 0) {
            fprintf(stderr, "ztagent: the code expired before it was approved; run again\n");
            res = ZTA_EXIT_FAIL;
        } else if (strcmp(error, "authorization_pending") != 0) {
            fprintf(stderr, "ztagent: the gateway answered %d: %.64s\n", status,
                    error[0] ? error : "(no error code)");
            res = ZTA_EXIT_ERR;
        }
        if (ans != NULL) {
            json_t *tok = json_object_get(ans, "token");
            if (json_is_string(tok))
                memset((char *)json_string_value(tok), 0, json_string_length(tok));
        }
        json_decref(ans);
        if (res >= 0)
            return res;
    }
    fprintf(stderr, "ztagent: gave up waiting for the approval\n");
    return ZTA_EXIT_FAIL;
}

int zta_signin(const zta_ctx *ctx, const char *app)
{
    json_t *body = json_pack("{s:s}", "app", app), *ans = NULL;
    int status = 0;
    int rc = body ? post(ctx, SIGNIN_START, body, &status, &ans) : -1;
    json_decref(body);
    if (rc != 0)
        return ZTA_EXIT_ERR;
    const char *device_code = str_of(ans, "device_code"), *user_code = str_of(ans, "user_code");
    json_int_t interval = json_integer_value(json_object_get(ans, "interval"));
    if (status != 200 || device_code[0] == '\0' || strlen(device_code) > 128 ||
        !user_code_ok(user_code)) {
        fprintf(stderr, "ztagent: the gateway refused the sign-in (%d %.64s)\n", status,
                str_of(ans, "error"));
        json_decref(ans);
        return status == 403 ? ZTA_EXIT_FAIL : ZTA_EXIT_ERR;
    }
    if (interval < 1 || interval > SIGNIN_INTERVAL_MAX_S)
        interval = 5;
    fprintf(stderr,
            "ztagent: sign-in needed for %s.\n"
            "  Open %s" SIGNIN_APPROVE " in your browser and enter the code  %s\n"
            "  (waiting for the approval...)\n",
            app, ctx->conf.server, user_code);
    char code[129];
    snprintf(code, sizeof code, "%s", device_code);
    json_decref(ans);
    rc = poll_until_done(ctx, code, (long)interval);
    memset(code, 0, sizeof code);
    return rc;
}

int zta_cmd_signin(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c != 'd')
            return ZTA_EXIT_ERR;
        dir = optarg;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: ztagent signin HOST[:PORT] [--dir DIR]\n");
        return ZTA_EXIT_ERR;
    }
    char host[256], app[300];
    unsigned port;
    if (!zta_parse_app(argv[optind], host, sizeof host, &port)) {
        fprintf(stderr, "ztagent: '%s' is not HOST[:PORT]\n", argv[optind]);
        return ZTA_EXIT_ERR;
    }
    snprintf(app, sizeof app, "%s:%u", host, port);
    zta_ctx ctx;
    if (zta_ctx_init(&ctx, dir) != 0 || zta_ctx_require_enrolled(&ctx) != 0)
        return ZTA_EXIT_ERR;
    zta_token_forget(&ctx);
    return zta_signin(&ctx, app);
}

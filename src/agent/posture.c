/* Posture collection: what the gateway's compliance rules look at, read from the system's own
 * files and tools. Every field the agent cannot determine is null, never guessed. Nothing
 * here reads user files. */
#include "agent/agent.h"
#include "lib/buf.h"

#include <clamav.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOOL_OUTPUT_MAX (4 * 1024 * 1024)
#define TOOL_TIMEOUT_MS 5000

static json_t *time_or_null(time_t t)
{
    char ts[21];
    if (t <= 0)
        return json_null();
    zta_rfc3339(t, ts);
    return json_string(ts);
}

static json_t *collect_os(void)
{
    zta_os_release os;
    size_t len;
    char *text = zta_read_file("/etc/os-release", 64 * 1024, &len);
    if (text == NULL)
        text = zta_read_file("/usr/lib/os-release", 64 * 1024, &len);
    if (text == NULL || zta_os_release_parse(text, len, &os) != 0)
        memset(&os, 0, sizeof os);
    free(text);
    struct utsname u;
    json_t *kernel = uname(&u) == 0 ? json_string(u.release) : json_null();
    return json_pack("{s:s?, s:s?, s:s?, s:o}", "id", os.id[0] ? os.id : NULL, "version_id",
                     os.version_id[0] ? os.version_id : NULL, "pretty_name",
                     os.pretty_name[0] ? os.pretty_name : NULL, "kernel", kernel);
}

/* Debian: dpkg appends to /var/log/dpkg.log on every install/upgrade; when logs were rotated
 * away, the newest file under /var/lib/dpkg/info marks the last package change. */
static time_t last_package_update(void)
{
    struct stat st;
    if (stat("/var/log/dpkg.log", &st) == 0 && st.st_size > 0)
        return st.st_mtime;
    DIR *d = opendir("/var/lib/dpkg/info");
    if (d == NULL)
        return 0;
    time_t newest = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime > newest)
            newest = st.st_mtime;
    }
    closedir(d);
    return newest;
}

/* True when /sys/block/NAME is a dm-crypt LUKS device, or stacked on one (LVM on LUKS). */
static bool dm_is_luks(const char *name, int depth)
{
    char path[PATH_MAX], uuid[256];
    if (depth > 8 || strchr(name, '/') != NULL)
        return false;
    snprintf(path, sizeof path, "/sys/block/%s/dm/uuid", name);
    size_t len;
    char *text = zta_read_file(path, sizeof uuid, &len);
    if (text != NULL) {
        bool luks = strncmp(text, "CRYPT-LUKS", 10) == 0;
        free(text);
        if (luks)
            return true;
    }
    snprintf(path, sizeof path, "/sys/block/%s/slaves", name);
    DIR *d = opendir(path);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            found = dm_is_luks(e->d_name, depth + 1);
    closedir(d);
    return found;
}

static const char *root_encryption(void)
{
    size_t len;
    char *mounts = zta_read_file("/proc/mounts", 4 * 1024 * 1024, &len);
    if (mounts == NULL)
        return "unknown";
    char dev[PATH_MAX] = "";
    for (char *line = mounts; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char d[PATH_MAX], mp[PATH_MAX];
        /* The last entry for "/" wins: it is the one on top. */
        if (sscanf(line, "%4095s %4095s", d, mp) == 2 && strcmp(mp, "/") == 0)
            snprintf(dev, sizeof dev, "%s", d);
        line = nl ? nl + 1 : NULL;
    }
    free(mounts);
    if (strncmp(dev, "/dev/", 5) != 0)
        return "unknown"; /* overlay, tmpfs, network root: cannot tell */
    char real[PATH_MAX];
    if (realpath(dev, real) == NULL)
        return "unknown";
    const char *base = strrchr(real, '/') + 1;
    if (strncmp(base, "dm-", 3) == 0)
        return dm_is_luks(base, 0) ? "luks" : "none";
    /* A partition: the root is on a plain block device unless its holder is dm-crypt. */
    return "none";
}

/* Runs argv (no shell) with stdout captured; exit status or -1. */
static int run_tool(char *const argv[], zt_buf *out)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(pfd[1], 1);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(pfd[1]);
    char chunk[4096];
    bool too_big = false;
    for (;;) {
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int pr = poll(&p, 1, TOOL_TIMEOUT_MS);
        if (pr <= 0) {
            if (pr < 0 && errno == EINTR)
                continue;
            kill(pid, SIGKILL);
            too_big = true;
            break;
        }
        ssize_t r = read(pfd[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (zt_buf_append(out, chunk, (size_t)r) != 0) {
            kill(pid, SIGKILL);
            too_big = true;
            break;
        }
    }
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (too_big || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static const char *find_tool(const char *name, char *buf, size_t buflen)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, buflen, "%s/%s", dirs[i], name);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

/* Rules in `nft list ruleset`: lines inside chain blocks that are not chain declarations. */
static long count_nft_rules(const char *text)
{
    long rules = 0;
    int depth_chain = 0;
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        while (n > 0 && isspace((unsigned char)*line)) {
            line++;
            n--;
        }
        if (n >= 6 && strncmp(line, "chain ", 6) == 0)
            depth_chain = 1;
        else if (depth_chain && n == 1 && line[0] == '}')
            depth_chain = 0;
        else if (depth_chain && n > 0 && strncmp(line, "type ", 5) != 0 &&
                 strncmp(line, "policy ", 7) != 0 && strncmp(line, "comment ", 8) != 0)
            rules++;
        line = nl ? nl + 1 : NULL;
    }
    return rules;
}

static long count_iptables_rules(const char *text)
{
    long rules = 0;
    for (const char *line = text; line && *line;) {
        if (strncmp(line, "-A ", 3) == 0)
            rules++;
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    return rules;
}

static json_t *collect_firewall(void)
{
    char path[PATH_MAX];
    zt_buf out;
    long rules = -1;
    zt_buf_init(&out, TOOL_OUTPUT_MAX);
    if (find_tool("nft", path, sizeof path) != NULL) {
        char *argv[] = {path, "list", "ruleset", NULL};
        if (run_tool(argv, &out) == 0 && zt_buf_cstr(&out) == 0)
            rules = count_nft_rules(out.data ? out.data : "");
    }
    if (rules <= 0 && find_tool("iptables-save", path, sizeof path) != NULL) {
        zt_buf_reset(&out);
        char *argv[] = {path, NULL};
        if (run_tool(argv, &out) == 0 && zt_buf_cstr(&out) == 0) {
            long r = count_iptables_rules(out.data ? out.data : "");
            if (r > rules)
                rules = r;
        }
    }
    zt_buf_dispose(&out);
    if (rules < 0)
        return json_pack("{s:n, s:n}", "active", "rules");
    return json_pack("{s:b, s:I}", "active", rules > 0, "rules", (json_int_t)rules);
}

static bool process_running(const char *comm)
{
    DIR *d = opendir("/proc");
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        size_t len;
        char *text = zta_read_file(path, 64, &len);
        if (text == NULL)
            continue;
        if (len > 0 && text[len - 1] == '\n')
            text[len - 1] = '\0';
        found = strcmp(text, comm) == 0;
        free(text);
    }
    closedir(d);
    return found;
}

/* Signature version and build time from the CVD/CLD headers: daily's version when present
 * (it moves every day), the newest build time of all. */
static void db_versions(const char *db_dir, json_t **version, json_t **when)
{
    static const char *const names[] = {"daily", "main", "bytecode"};
    static const char *const exts[] = {".cld", ".cvd"};
    long best_version = -1;
    time_t newest = 0;
    for (size_t i = 0; i < 3; i++) {
        for (size_t k = 0; k < 2; k++) {
            char path[ZTA_PATH_MAX + 32];
            snprintf(path, sizeof path, "%s/%s%s", db_dir, names[i], exts[k]);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            char hdr[ZTA_CVD_HEADER_LEN];
            ssize_t n = read(fd, hdr, sizeof hdr);
            close(fd);
            zta_cvd_header h;
            if (n <= 0 || zta_cvd_header_parse(hdr, (size_t)n, &h) != 0)
                continue;
            if (best_version < 0)
                best_version = (long)h.version;
            if (h.build_time > newest)
                newest = h.build_time;
            break;
        }
    }
    *version = best_version >= 0 ? json_integer(best_version) : json_null();
    *when = time_or_null(newest);
}

json_t *zta_posture_collect(const zta_ctx *ctx, const char *db_dir)
{
    char ts[21];
    zta_rfc3339(time(NULL), ts);
    json_t *sigver, *sigtime;
    db_versions(db_dir, &sigver, &sigtime);
    int active = zta_quarantine_active(ctx);
    json_t *os = collect_os();
    if (os == NULL) /* e.g. os-release values that are not UTF-8 */
        os = json_pack("{s:n, s:n, s:n, s:n}", "id", "version_id", "pretty_name", "kernel");
    return json_pack("{s:s, s:s, s:o, s:{s:o}, s:{s:s}, s:o, s:{s:n}, "
                     "s:{s:s, s:s, s:o, s:o, s:b}, s:i}",
                     "agent_version", ZT_VERSION, "collected_at", ts, "os", os, "updates",
                     "last_package_update", time_or_null(last_package_update()), "disk_encryption",
                     "root", root_encryption(), "firewall", collect_firewall(), "screen_lock",
                     "enabled", "antivirus", "engine", "clamav", "engine_version", cl_retver(),
                     "signature_version", sigver, "signature_time", sigtime, "on_access",
                     process_running("clamonacc"), "alerts_active", active < 0 ? 0 : active);
}

static int validate_compliance(json_t *ans)
{
    json_t *compliant = json_object_get(ans, "compliant");
    json_t *failed = json_object_get(ans, "failed");
    const char *risk = json_string_value(json_object_get(ans, "risk"));
    if (!json_is_boolean(compliant) || !json_is_array(failed) || !zta_valid_risk(risk) ||
        json_array_size(failed) > 100)
        return -1;
    size_t i;
    json_t *f;
    json_array_foreach(failed, i, f)
    {
        if (!json_is_string(json_object_get(f, "rule")) ||
            !json_is_string(json_object_get(f, "message")))
            return -1;
    }
    return 0;
}

int zta_posture_send(const zta_ctx *ctx, json_t *posture, bool quiet)
{
    json_t *ans = NULL;
    int rc = zta_call(ctx, "POST", "/.ztgate/device/posture", posture, 200, &ans);
    if (rc != 0)
        return ZTA_EXIT_ERR;
    if (validate_compliance(ans) != 0) {
        fprintf(stderr, "ztagent: the server's compliance answer is malformed\n");
        json_decref(ans);
        return ZTA_EXIT_ERR;
    }
    bool ok = json_is_true(json_object_get(ans, "compliant"));
    const char *risk = json_string_value(json_object_get(ans, "risk"));
    if (!quiet) {
        printf("%s (device risk: %s)\n", ok ? "compliant" : "NOT compliant", risk);
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(ans, "failed"), i, f)
        {
            printf("  - %.100s: %.500s\n", json_string_value(json_object_get(f, "rule")),
                   json_string_value(json_object_get(f, "message")));
        }
    } else {
        zta_log("posture sent: %s, risk %s", ok ? "compliant" : "not compliant", risk);
    }
    json_decref(ans);
    return ok ? ZTA_EXIT_OK : ZTA_EXIT_FAIL;
}

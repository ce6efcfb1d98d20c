/* libFuzzer target for the config loader: any byte string must load or be refused cleanly,
 * without crashes, leaks or unbounded work. Names resolve offline so runs never touch DNS. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every name is 127.0.0.1 except *.invalid, so both outcomes of resolution are explored. */
static int fuzz_resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    size_t n = strlen(host);
    if (n >= 8 && strcmp(host + n - 8, ".invalid") == 0)
        return EAI_NONAME;
    memset(out, 0, sizeof(*out));
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zt_config_set_resolver(fuzz_resolve);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("fuzz.yaml", (const char *)data, size, &d);
    /* A config is returned exactly when nothing was reported. */
    if ((cfg == NULL) == (d.errors == 0))
        __builtin_trap();
    zt_config_free(cfg);
    zt_diags_dispose(&d);
    return 0;
}

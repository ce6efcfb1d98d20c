/* Fuzz the outside input of `ztagent tunnel` and its sign-in: the gateway's answer head to
 * CONNECT as the agent parses it (src/agent/parse.c), and on the gateway's side the "app" of a
 * sign-in start and a user code as typed on the approval page (src/device/agent_signin.c).
 * The agent is not part of ztcore: its parser file is compiled in here, as in the unit test. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/parse.c"
#include "device/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned status = 0;
    size_t body = 0;
    if (zta_connect_answer_parse((const char *)data, size, &status, &body) == 0 &&
        (status < 100 || status > 999 || body > (1u << 30)))
        abort();
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    (void)zt_agent_app_valid(s);
    char code[ZT_AGENT_USER_CODE_CHARS + 1];
    if (zt_agent_user_code_normalise(s, strlen(s), code) &&
        strlen(code) != ZT_AGENT_USER_CODE_CHARS)
        abort();
    char host[256];
    unsigned port = 0;
    if (zta_parse_app(s, host, sizeof host, &port) && (port == 0 || port > 65535))
        abort();
    free(s);
    return 0;
}

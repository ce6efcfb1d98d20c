/* ztgate: the gateway daemon and its admin CLI in one binary. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        zt_commands_usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("ztgate %s\n", ZT_VERSION);
        return 0;
    }
    const zt_command *cmd = zt_command_find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "ztgate: unknown subcommand '%s'\n\n", argv[1]);
        zt_commands_usage();
        return 2;
    }
    return cmd->run(argc - 1, argv + 1);
}

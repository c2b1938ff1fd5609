#include "cli/cli.h"
int cli_cmd_chain(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("provena chain audit", "not built yet");
}

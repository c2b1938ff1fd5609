#include "cli/cli.h"
int cli_cmd_mint(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("provena mint", "not built yet");
}

/*
 * main.c — provena: the command for everyone who is not a node operator.
 *
 * Dispatches the first word to its command group (one file each in cli/);
 * every group parses its own options through cli_parse, so each has --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: provena COMMAND [options]   (every command takes --help; --version)\n\n"
            "keys and network:\n"
            "  key new FILE | key pub FILE\n"
            "  genesis init | add-participant | add-node | show\n"
            "  status                      node and chain status\n"
            "  tx status ID                what became of a transaction\n"
            "brand:\n"
            "  mint --gtin G --lot L --count N [--labels DIR] [--csv FILE]\n"
            "  flag | unflag --reason R UNITS...\n"
            "  participant add | revoke | rotate\n"
            "  node add | remove\n"
            "  policy set\n"
            "  policy rp --id HOST --origins URL,...  the network's passkey relying party\n"
            "  resolver set URL            the network's public label resolver\n"
            "  dashboard login --node URL --key FILE [--out FILE]\n"
            "carriers and sellers:\n"
            "  pickup UNITS... | --file F\n"
            "  deliver --to PARTICIPANT UNITS... | --file F\n"
            "  sell UNIT --buyer PUBHEX | --claim-code\n"
            "owners and service centres:\n"
            "  claim UNIT --code C\n"
            "  transfer UNIT --to PUBHEX\n"
            "  transfer offer UNIT [--days N] | transfer cancel UNIT\n"
            "  warranty activate | extend | claim | resolve UNIT\n"
            "anyone:\n"
            "  history UNIT [--json]\n"
            "  verify URL --genesis FILE [--offline]\n"
            "  chain audit --node URL | --file BACKUP --genesis FILE\n"
            "  epcis export --gtin G --lot L [--from T] [--to T] --out FILE\n\n"
            "A unit is GTIN/SERIAL, a Digital Link URL, or an element string\n"
            "(01)09506000134352(21)AB12. Environment: PROVENA_NODE (default %s;\n"
            "a list URL,URL lets a submission move to another node), PROVENA_KEY,\n"
            "PROVENA_CACERT (CA file for an https:// node not in the system's store).\n\n"
            "Exit codes: 0 accepted / done, 1 refused or failed, 2 usage error,\n"
            "3 outcome unknown (the tx id is printed; ask with provena tx status ID).\n",
            CLI_NODE_DEFAULT);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 2;
    char **sub_argv = argv + 2;
    int rc;
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("provena %s\n", PROVENA_VERSION);
        return CLI_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    } else if (strcmp(cmd, "key") == 0) {
        rc = cli_cmd_key(sub_argc, sub_argv);
    } else if (strcmp(cmd, "genesis") == 0) {
        rc = cli_cmd_genesis(sub_argc, sub_argv);
    } else if (strcmp(cmd, "mint") == 0) {
        rc = cli_cmd_mint(sub_argc, sub_argv);
    } else if (strcmp(cmd, "history") == 0) {
        rc = cli_cmd_history(sub_argc, sub_argv);
    } else if (strcmp(cmd, "status") == 0) {
        rc = cli_cmd_status(sub_argc, sub_argv);
    } else if (strcmp(cmd, "verify") == 0) {
        rc = cli_cmd_verify(sub_argc, sub_argv);
    } else if (strcmp(cmd, "chain") == 0) {
        rc = cli_cmd_chain(sub_argc, sub_argv);
    } else if (strcmp(cmd, "tx") == 0) {
        rc = cli_cmd_tx(sub_argc, sub_argv);
    } else if (strcmp(cmd, "epcis") == 0) {
        rc = cli_cmd_epcis(sub_argc, sub_argv);
    } else if (strcmp(cmd, "dashboard") == 0) {
        rc = cli_cmd_dashboard(sub_argc, sub_argv);
    } else if (cli_is_lifecycle(cmd)) {
        rc = cli_cmd_lifecycle(cmd, sub_argc, sub_argv);
    } else {
        fprintf(stderr, "provena: unknown command '%s' (see provena --help)\n", cmd);
        return CLI_USAGE;
    }
    return rc == CLI_HELP ? CLI_OK : rc;
}

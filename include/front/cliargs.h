/* The command's argument rules: which command, its VM, and the options that apply to it.
 * Parsing only: nothing is read, nothing is acted on. */
#ifndef VH_CLIARGS_H
#define VH_CLIARGS_H

#include <stdbool.h>

enum cli_cmd {
	CLI_PLAN,
	CLI_PREPARE,
	CLI_RELEASE,
	CLI_STATUS,
	CLI_RECOVER,
	CLI_GROUPS,
	CLI_CHECK,
	CLI_ENABLE,
	CLI_DISABLE,
	CLI_LIST,
};

struct cli_args {
	enum cli_cmd cmd;
	const char *vm;	     /* NULL when the command was given none */
	const char *root;    /* --root DIR, NULL when not given */
	const char *xml;     /* --xml FILE */
	const char *connect; /* --connect URI */
	const char *devices; /* --devices LIST (enable) */
	bool strict;	     /* --strict (enable) */
	bool dry_run;	     /* --dry-run */
	bool verbose;	     /* -v, --verbose */
	bool help;	     /* -h, --help: print the usage, nothing else */
};

/*
 * The rules, exactly:
 *   vfio-handoff [OPTION]... COMMAND [VM] [OPTION]... [--] [VM]
 * Words are read left to right. "--" ends the options: every word after it is an
 * argument, so a VM may be named "--x" ("recover -- --x"). Before it, a word that starts
 * with "-" (other than "-" itself) is an option, wherever it stands: --root DIR,
 * --xml FILE, --connect URI, --devices LIST (also --opt=VALUE), --dry-run, --strict,
 * -v/--verbose, -h/--help.
 * The first argument is the command, the next its VM. Per command:
 *   plan VM            --xml, --connect
 *   prepare VM         --xml (required), --dry-run
 *   release VM
 *   status
 *   recover [VM]
 *   groups
 *   check [VM]         --xml, --connect (with a VM)
 *   enable VM          --xml, --connect, --devices LIST, --strict
 *   disable VM
 *   list               --connect
 * --root and -v go with every command. A missing or extra argument, an unknown option or
 * command, or an option that does not go with the command: -EINVAL with a one-line
 * reason (reason_get()). -h/--help before "--": ret->help, 0.
 */
int cli_args_parse(int argc, char **argv, struct cli_args *ret);

#endif

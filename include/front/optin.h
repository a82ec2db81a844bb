/* The command's opt-in commands: enable (check the VM and its groups, print the plan,
 * write vm.d/VM.conf), disable (remove it unless the VM holds devices) and list. */
#ifndef VH_FRONT_OPTIN_H
#define VH_FRONT_OPTIN_H

#include "front/cliargs.h"
#include "input/domxml.h"

/* How the command gets a domain's XML: --xml FILE, or libvirt (the command only). */
typedef int (*cli_load_xml_fn)(const char *vm, struct domxml *ret);

/* Each returns the exit status (0 done, 1 refused or failed) after printing what it did
 * in one line on stdout, or why not in one line on stderr. */
int cli_enable(const struct cli_args *a, cli_load_xml_fn load_xml);
int cli_disable(const struct cli_args *a);
/* load_xml is asked for the hostdevs of a VM whose file says devices = hostdevs, on the
 * real root only; NULL never asks. */
int cli_list(const struct cli_args *a, cli_load_xml_fn load_xml);

#endif

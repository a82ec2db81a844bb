/* What the hook and its engine share of libvirt's hook protocol: the usage text (also the
 * marker install.sh recognises our hook by) and draining the XML libvirt writes. */
#ifndef VH_HOOKPROTO_H
#define VH_HOOKPROTO_H

void hook_usage(void);
/* Reads and drops stdin, bounded: libvirt writes the XML for every call, and reading it
 * lets libvirt finish its write cleanly whatever the hook decides. */
void hook_drain_stdin(void);

#endif

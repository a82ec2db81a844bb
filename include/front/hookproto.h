/* What the hook and its engine share of libvirt's hook protocol: the argument rules, which
 * calls are acted on, the usage text (also the marker install.sh recognises our hook by)
 * and reading the XML libvirt writes, with a deadline. libc only: the hook links it. */
#ifndef VH_HOOKPROTO_H
#define VH_HOOKPROTO_H

#include <stdbool.h>
#include <stddef.h>

/* How long a call waits for libvirt to finish writing (and close) stdin when it does not
 * need the XML: libvirt writes it at once, so only a writer that never closes gets here. */
#define HOOK_DRAIN_TIMEOUT_MS 2000

struct hook_args {
	const char *vm, *op, *sub, *extra; /* libvirt's four positions */
	bool dry_run;			   /* --dry-run (hand-run form only) */
	bool help;			   /* "qemu --help" */
};

/*
 * libvirt runs the hook as "qemu VM OPERATION SUB-OPERATION EXTRA": exactly four
 * arguments, read by position whatever they look like (a VM may be named "--root").
 * By hand, options go before those four: with more than four arguments the last four are
 * the positions and every one before them must be an option (--root DIR, --dry-run).
 * "qemu --help" alone prints the usage. Anything else: -EINVAL, print hook_usage().
 * --root is applied (root_set) as it is read.
 */
int hook_parse_args(int argc, char **argv, struct hook_args *ret);

enum hook_action {
	HOOK_IGNORE,  /* answer at once: exit 0 */
	HOOK_PREPARE, /* "prepare begin" of a VM that opted in */
	HOOK_RELEASE, /* "release end" of a VM that opted in or has a journal */
};

/* What to do with the call: one or two stats, no parsing. Release follows the journal:
 * a VM whose opt-in file went away while it ran still gets its devices back. */
enum hook_action hook_action_of(const struct hook_args *a);

/* The shut-off reason libvirt passes as EXTRA of "release end" (libvirt >= 10: "destroyed",
 * "shutdown", "crashed", ...; older ones pass "-"), or NULL when there is none or it is not
 * a plain word of at most HOOK_REASON_MAX letters, digits, '-' and '_' (so it can be logged
 * as it is). The release is the same whatever the reason. */
#define HOOK_REASON_MAX 32
const char *hook_release_reason(const struct hook_args *a);

/* Whether ROOT/run/vfio-handoff/<vm>.journal exists (lstat). Invalid name: false. */
bool hook_vm_has_journal(const char *vm);

void hook_usage(void);

/*
 * Reads and drops stdin until EOF, at most timeout_ms (reading lets libvirt finish its
 * write cleanly whatever the hook decides). 0 at EOF, -ETIMEDOUT when the writer did not
 * close in time, -EFBIG past twice the XML size limit, or -errno. *ret_len (if not NULL)
 * gets the bytes read.
 */
int hook_drain_stdin(int timeout_ms, size_t *ret_len);

/*
 * Reads fd until EOF into a malloc'ed, NUL-terminated *ret_buf, at most max bytes and
 * timeout_ms. 0 with the whole input; -ETIMEDOUT when the writer did not close in time,
 * -EFBIG over max, -ENOMEM, -errno; on error nothing is returned but *ret_len (the bytes
 * read before giving up).
 */
int hook_read_fd(int fd, int timeout_ms, size_t max, char **ret_buf, size_t *ret_len);

#endif

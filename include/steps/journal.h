/* The journal (/run/vfio-handoff/<vm>.journal): written and flushed before each change,
 * read back by release and recover. And the lock that serializes them. */
#ifndef VH_JOURNAL_H
#define VH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/bdf.h"
#include "steps/step.h"

#define RUN_DIR "/run/vfio-handoff"
#define JOURNAL_MAX_DEVS 64
/* The file format: its first line, the files' suffix, and the limits a reader applies. */
#define JOURNAL_MAGIC "vfio-handoff-journal 1"
#define JOURNAL_SUFFIX ".journal"
/* A hand-off of 64 devices with every step kind is a few KiB. */
#define JOURNAL_MAX_BYTES (1024 * 1024)
#define JOURNAL_MAX_STEPS 1024
#define JOURNAL_LINE_MAX (STEP_ARG_MAX + STEP_REC_MAX + 80)

struct journal {
	int fd;
	char path[4096];
};

/* A device a kernel call did not return from (a driver's remove() blocked while a
 * process held it): left alone for the rest of that run, shown by status, and probed by
 * the next release or recover before anything is tried on it. */
struct journal_wedged {
	struct bdf dev;
	char why[256]; /* who held it, when known; printable, no tab */
};

struct journal_data {
	char vm[256];
	struct bdf *devs; /* devices claimed */
	size_t n_devs;
	struct step *steps; /* steps journaled, in order */
	size_t n_steps;
	struct journal_wedged *wedged; /* "wedged" records */
	size_t n_wedged;
};

/* Takes ROOT/run/vfio-handoff/lock (created 0600), waiting up to timeout_ms. *ret_fd
 * holds it until closed. */
int journal_lock(int timeout_ms, int *ret_fd);

/* Creates the journal of vm and records the claimed devices. One that exists already:
 * -EEXIST, unless it records no step (nothing was done), when it is replaced. */
int journal_create(const char *vm, const struct bdf *devs, size_t n, struct journal *ret);
/* Appends one step and flushes it to stable storage before returning. */
int journal_append(struct journal *j, const struct step *s);
void journal_close(struct journal *j);

/* Reads vm's journal. -ENOENT when there is none (no reason). Refused with a reason
 * naming the file: a symlink, not a regular file, an owner other than the required one
 * (root), writable by group or other (-EPERM); over 1 MiB (-EFBIG); a malformed entry
 * or a field the planner would not write (-EBADMSG, naming file:line). An empty journal
 * (a crash between creating and writing it) reads as nothing done: no device, no step. */
/* The journal's path for vm under the root prefix. */
int journal_path(const char *vm, char *buf, size_t n);

int journal_read(const char *vm, struct journal_data *ret);
void journal_data_free(struct journal_data *d);
/* Replaces vm's journal with the given steps (what release could not undo) and wedged
 * records; removes it when there are neither. Atomic (rename). */
int journal_rewrite(const char *vm, const struct journal_data *d);
int journal_remove(const char *vm);

/* Names of VMs with a journal, sorted. *ret is malloc'ed array of malloc'ed strings. */
int journal_list(char ***ret, size_t *ret_n);
void journal_list_free(char **names, size_t n);

/* The VM whose journal claims addr (other than self), into owner. 1 found, 0 not.
 * Fails closed: another VM's journal that cannot be read may claim it, so that is an
 * error with journal_read()'s reason (the file and why). */
int journal_find_owner(const struct bdf *addr, const char *self, char *owner, size_t n);

#ifdef VH_TEST_SEAMS
#include <sys/types.h>
/* The calls that write the journal and the lock (test builds only), so tests can make
 * them fail as a full, failing or read-only /run would. NULL restores the real ones. */
struct journal_io {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*sync)(int fd); /* fsync and fdatasync */
};
void journal_io_set(const struct journal_io *io);
#endif

#endif

/* Running a helper program (systemctl) the way a hook must: by absolute path, clean
 * environment, stdin from /dev/null, output captured through a pipe, and a deadline. */
#ifndef VH_SPAWN_H
#define VH_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Finds program name under the root prefix: ROOT/usr/bin/NAME, then ROOT/bin/NAME.
 * The rooted path goes into buf. -ENOENT when neither is executable (no reason set: a
 * caller may go on without it).
 */
int spawn_find(const char *name, char *buf, size_t n);

/*
 * Runs path with argv (argv[0] included, NULL-terminated). The child gets only
 * LC_ALL=C and a fixed PATH, stdin from /dev/null, stdout and stderr on a pipe read into
 * out (NUL-terminated, truncated to out_size - 1; the rest is drained), no other file
 * descriptor, its own process group. When it has not exited within timeout_ms its whole
 * process group is killed and -ETIMEDOUT returned. Otherwise 0 and *ret_status is its
 * exit code, or 128 + the signal that ended it. -errno when it could not be started.
 * out may be NULL (output discarded).
 */
int spawn_run(const char *path, const char *const argv[], int timeout_ms, char *out,
	      size_t out_size, int *ret_status);

/* With a root other than "/" spawn_run() refuses (-EPERM, with a reason) before it forks:
 * a program under a fixture or a copied root would act on this machine. Test builds let
 * the fixture's fake programs run (set with the fake kernel). */
#ifdef VH_TEST_SEAMS
void spawn_allow_fixture(bool allow);
#endif

/* Closes every descriptor from first up (close_range, or one by one where it is missing).
 * Only async-signal-safe calls: for a child after fork. */
void spawn_close_from(int first);

/* A child killed at its deadline that has not ended yet (stuck in the kernel): reaped by
 * spawn_reap_pending(), which every later child start and the engine's exit call. Returns
 * how many are still pending. */
void spawn_reap_later(pid_t pid);
size_t spawn_reap_pending(void);

#endif

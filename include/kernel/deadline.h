/* Work in a child process with a deadline. */
#ifndef VH_KERNEL_DEADLINE_H
#define VH_KERNEL_DEADLINE_H

#include <stddef.h>

/*
 * Runs fn(data, out) in a child process and copies its out (out_size bytes) back; returns
 * fn's result, or -ETIMEDOUT when it has not finished within timeout_ms. The child has
 * stdio on /dev/null and no other descriptor of ours (the lock, the journal, libvirt's
 * pipes) but its result pipe, so a child stuck in the kernel holds nothing. A child killed
 * at the deadline that does not end at once (stuck in an uninterruptible kernel call) is
 * reaped later (spawn_reap_pending()).
 */
int run_with_deadline(int (*fn)(void *data, void *out), void *data, void *out, size_t out_size,
		      int timeout_ms);

#endif

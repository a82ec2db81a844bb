/* The standard descriptors 0, 1 and 2 open before a program opens anything. */
#ifndef VH_BASE_STDFDS_H
#define VH_BASE_STDFDS_H

/*
 * Opens /dev/null on each of fds 0, 1 and 2 that is closed, so that no file the program
 * opens later (the lock, a journal) becomes its stdin, stdout or stderr and receives what
 * is printed there. Call first thing in main. 0, or -errno when /dev/null cannot be
 * opened (then nothing else is safe to open either).
 */
int stdfds_ensure(void);

#endif

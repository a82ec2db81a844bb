/* The root prefix: every path the program touches is built under it ("/" on a real host,
 * a fixture tree in tests). */
#ifndef VH_ROOT_H
#define VH_ROOT_H

#include <stdbool.h>
#include <stddef.h>

#define VH_PATH_MAX 4096

/* The root prefix. Default "/". The string is copied. */
int root_set(const char *root);
const char *root_get(void);
bool root_is_real(void); /* true when the root is "/" */

/* Builds ROOT + the formatted path (which starts with '/'). 0 or -ENAMETOOLONG. */
int path_join(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

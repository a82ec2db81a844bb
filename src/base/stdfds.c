/* The standard descriptors open at start: a program started with one of them closed would
 * otherwise hand that number to the next file it opens. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/stdfds.h"

int stdfds_ensure(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free number: fd itself, since those below it are open. Not
		 * O_CLOEXEC: the programs we exec get it too, as they would have got ours. */
		n = open("/dev/null", O_RDWR | O_NOCTTY);
		if (n < 0)
			return -errno;
		if (n != fd) {
			int r = dup2(n, fd) < 0 ? -errno : 0;

			close(n);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

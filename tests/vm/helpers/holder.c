/* Guest helper for the real-kernel tests: holds device nodes open the way a compositor does
 * and, with -t TTY, puts that VT into KD_GRAPHICS until SIGTERM (then back to KD_TEXT).
 * With -s the files are not kept in the fd table but in flight in a unix socket (SCM_RIGHTS):
 * the driver's module stays referenced while no process shows the node in /proc/PID/fd or maps.
 * usage: holder [-s] [-t TTY] [-r READYFILE] FILE...  (a FILE may be a pattern: /dev/dri/card*,
 * opened as the first match, since the card number can change across a hand-off) */
#include <fcntl.h>
#include <glob.h>
#include <linux/kd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

int main(int argc, char **argv)
{
	const char *tty = NULL, *ready = NULL;
	int opt, i, vt = -1, stash = 0, sv[2] = { -1, -1 };
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "st:r:")) != -1) {
		if (opt == 's')
			stash = 1;
		else if (opt == 't')
			tty = optarg;
		else if (opt == 'r')
			ready = optarg;
		else
			return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = optind; i < argc; i++) {
		glob_t g;
		const char *f = argv[i];

		if (glob(argv[i], 0, NULL, &g) == 0 && g.gl_pathc > 0)
			f = g.gl_pathv[0];
		int fd = open(f, O_RDWR);

		if (fd < 0) {
			perror(f);
			return 1;
		}
		if (stash) {
			char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 0;
			struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
			struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
					      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

			if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) {
				perror("socketpair");
				return 1;
			}
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
			if (sendmsg(sv[0], &msg, 0) != 1) {
				perror("sendmsg");
				return 1;
			}
			close(fd);
		}
		printf("holder: holding %s%s\n", f, stash ? " (in flight, no fd)" : "");
	}
	fflush(stdout);
	if (tty) {
		vt = open(tty, O_RDWR | O_NOCTTY);
		if (vt < 0 || ioctl(vt, KDSETMODE, KD_GRAPHICS) < 0) {
			perror(tty);
			return 1;
		}
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0)
			close(fd);
	}
	while (!done)
		pause();
	if (vt >= 0)
		ioctl(vt, KDSETMODE, KD_TEXT);
	if (ready)
		unlink(ready);
	return 0;
}

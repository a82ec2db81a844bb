/* libvirt's hook protocol as the hook and its engine both need it. libc only: the hook's
 * fast path links it. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/names.h"
#include "base/root.h"
#include "front/hookproto.h"
#include "input/config.h"
#include "input/domxml.h"
#include "steps/journal.h"

/* libvirt passes exactly these four, EXTRA being "-" when it has nothing to say. */
#define HOOK_POSITIONS 4

void hook_usage(void)
{
	fprintf(stderr, "usage: qemu [--root DIR] [--dry-run] VM OPERATION SUB-OPERATION EXTRA\n"
			"  the libvirt hook of vfio-handoff; acts on 'prepare begin' and "
			"'release end'\n  with the domain XML on stdin (see vfio-handoff(8))\n");
}

int hook_parse_args(int argc, char **argv, struct hook_args *ret)
{
	int first;

	*ret = (struct hook_args){0};
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		ret->help = true;
		return 0;
	}
	if (argc - 1 < HOOK_POSITIONS)
		return -EINVAL;
	/* Counted from the end, so no VM name can be taken for an option, and libvirt's
	 * own call (exactly four) is never read as options at all. */
	first = argc - HOOK_POSITIONS;
	for (int i = 1; i < first; i++) {
		if (strcmp(argv[i], "--root") == 0) {
			if (i + 1 >= first) {
				fprintf(stderr,
					"vfio-handoff: --root needs DIR before VM OPERATION "
					"SUB-OPERATION EXTRA\n");
				return -EINVAL;
			}
			if (root_set(argv[++i]) < 0) {
				fprintf(stderr, "vfio-handoff: --root: path too long\n");
				return -EINVAL;
			}
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			ret->dry_run = true;
		} else {
			fprintf(stderr,
				"vfio-handoff: '%s' is not an option of the hook (options "
				"go before VM OPERATION SUB-OPERATION EXTRA)\n",
				ESC(argv[i]));
			return -EINVAL;
		}
	}
	ret->vm = argv[first];
	ret->op = argv[first + 1];
	ret->sub = argv[first + 2];
	ret->extra = argv[first + 3];
	return 0;
}

const char *hook_release_reason(const struct hook_args *a)
{
	const char *c = a->extra;

	if (strcmp(a->op, "release") != 0 || strcmp(a->sub, "end") != 0 || !c ||
	    strcmp(c, "-") == 0 || !*c || strlen(c) > HOOK_REASON_MAX)
		return NULL;
	for (; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return NULL;
	return a->extra;
}

bool hook_vm_has_journal(const char *vm)
{
	char path[VH_PATH_MAX];
	struct stat st;

	if (!name_vm_valid(vm) || path_join(path, sizeof(path), RUN_DIR "/%s.journal", vm) < 0)
		return false;
	/* lstat: whatever is there (even a symlink or an unreadable file) is the engine's to
	 * judge and report, not a reason to leave the devices where they are. */
	return lstat(path, &st) == 0;
}

enum hook_action hook_action_of(const struct hook_args *a)
{
	if (strcmp(a->op, "prepare") == 0 && strcmp(a->sub, "begin") == 0)
		return config_vm_opted_in(a->vm) ? HOOK_PREPARE : HOOK_IGNORE;
	if (strcmp(a->op, "release") == 0 && strcmp(a->sub, "end") == 0)
		return config_vm_opted_in(a->vm) || hook_vm_has_journal(a->vm) ? HOOK_RELEASE
									       : HOOK_IGNORE;
	return HOOK_IGNORE;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable (or at EOF/hung up) before the deadline. */
static int wait_readable(int fd, long long deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		long long left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue; /* re-check the clock */
		if (p.revents & POLLNVAL)
			return -EBADF;
		return 0;
	}
}

/* Reads fd until EOF or the deadline, into buf when not NULL (cap bytes; the caller grows
 * it) or into the void. */
static ssize_t read_some(int fd, long long deadline, char *buf, size_t cap)
{
	char sink[65536];

	for (;;) {
		ssize_t n;
		int r = wait_readable(fd, deadline);

		if (r < 0)
			return r;
		n = read(fd, buf ? buf : sink, buf ? cap : sizeof(sink));
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

int hook_drain_stdin(int timeout_ms, size_t *ret_len)
{
	long long deadline = mono_ms() + timeout_ms;
	size_t total = 0;
	ssize_t n;
	int r = 0;

	while ((n = read_some(STDIN_FILENO, deadline, NULL, 0)) != 0) {
		if (n < 0) {
			r = (int)n;
			break;
		}
		total += (size_t)n;
		/* Past twice the XML size limit it is not libvirt's XML: stop. */
		if (total > 2 * (size_t)DOMXML_MAX_BYTES) {
			r = -EFBIG;
			break;
		}
	}
	if (ret_len)
		*ret_len = total;
	return r;
}

int hook_read_fd(int fd, int timeout_ms, size_t max, char **ret_buf, size_t *ret_len)
{
	long long deadline = mono_ms() + timeout_ms;
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	int r = 0;

	if (!buf) {
		*ret_len = 0;
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		/* Room for one byte past max (tells "at the limit" from "over it") and the NUL. */
		if (len + 1 >= cap) {
			size_t ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			char *nbuf = ncap > cap ? realloc(buf, ncap) : NULL;

			if (!nbuf) {
				r = ncap > cap ? -ENOMEM : -EFBIG;
				break;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read_some(fd, deadline, buf + len, cap - 1 - len);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EFBIG;
			break;
		}
	}
	*ret_len = len;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	return 0;
}

/* The libvirt domain XML: name, uuid and the PCI hostdevs. libxml2 with no network, no
 * entity expansion, no DTD loading and a bounded size. */
#ifndef VH_DOMXML_H
#define VH_DOMXML_H

#include <stddef.h>

#include "base/bdf.h"
#include "input/domfeatures.h"

#define DOMXML_MAX_BYTES (4 * 1024 * 1024)
#define DOMXML_MAX_HOSTDEVS 64

enum managed { MANAGED_ABSENT = -1, MANAGED_NO = 0, MANAGED_YES = 1 };

struct hostdev {
	struct bdf addr;
	enum managed managed;
	int line; /* line of <hostdev> in the input */
};

struct domxml {
	char name[256];
	char uuid[40];		  /* "" when absent */
	struct hostdev *hostdevs; /* malloc'ed */
	size_t n_hostdevs;
	struct domfeatures features; /* input/domfeatures.c */
};

/*
 * Parses a document. what names the input in errors ("stdin", a file name).
 * On error returns -EINVAL (or -ENOMEM, -EFBIG) and records a one-line reason with
 * reason_set() naming what and the line: "win10.xml:12: hostdev address bus '0xZZ' is
 * not a number".
 */
int domxml_parse_mem(const char *buf, size_t len, const char *what, struct domxml *ret);
/* Reads at most DOMXML_MAX_BYTES from fd (larger input: -EFBIG) and parses it. */
int domxml_parse_fd(int fd, const char *what, struct domxml *ret);
int domxml_parse_file(const char *path, struct domxml *ret);
void domxml_free(struct domxml *d);

#endif

/* A linear pass over an untrusted XML document before libxml2 parses it, which bounds the
 * parse's time: libxml2 compares each attribute of an element with every one before it
 * (300k attributes on one element: minutes). */
#ifndef VH_INPUT_XMLSCAN_H
#define VH_INPUT_XMLSCAN_H

#include <stddef.h>

/* A libvirt domain XML has at most a few dozen attributes on an element and a few
 * thousand nodes; these are well past both. */
#define XMLSCAN_MAX_ATTRS 256	     /* on one element */
#define XMLSCAN_MAX_NODES 100000     /* elements, comments, CDATA sections, PIs */
#define XMLSCAN_MAX_ALL_ATTRS 100000 /* in the whole document */

/*
 * Counts, in one pass, the attributes of each start tag and the nodes of buf (UTF-8 or
 * another ASCII-compatible encoding, UTF-16 or UCS-4, as libxml2 detects them), and
 * refuses a declared encoding in which that count could be wrong. 0, or -EINVAL with a
 * reason "WHAT:LINE: ..." naming the element or the limit.
 */
int xmlscan_check(const char *buf, size_t len, const char *what);

#endif

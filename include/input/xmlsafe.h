/* Reading an untrusted XML document with libxml2 safely. */
#ifndef VH_INPUT_XMLSAFE_H
#define VH_INPUT_XMLSAFE_H

#include <stddef.h>

#include <libxml/tree.h>

/*
 * Parses buf (len bytes, at most max) into *ret: no network, no DTD loading,
 * no entity substitution, a DOCTYPE refused, libxml2's depth and text-size limits kept, no
 * data after the root element. what names the document in the reason ("FILE:LINE: ...").
 * 0, or -errno with a reason and nothing allocated.
 */
int xmlsafe_read(const char *buf, size_t len, size_t max, const char *what, xmlDocPtr *ret);

/* An element's line in the document, right past line 65535 too; 0 when unknown. */
int xmlsafe_line(const xmlNode *n);

#endif

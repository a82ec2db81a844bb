/* Reads the libvirt domain XML for what the hand-off needs: the name, the uuid and the
 * PCI hostdevs. The input is untrusted, so libxml2 runs with every door closed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "base/bdf.h"
#include "base/log.h"
#include "base/util.h"
#include "input/domxml.h"

/*
 * No network, no DTD loading, and no entity substitution: XML_PARSE_NOENT and
 * XML_PARSE_DTDLOAD are deliberately absent, and so is XML_PARSE_HUGE, which keeps
 * libxml2's own depth and text-size limits on. libxml2 prints nothing; errors reach
 * on_xml_error. BIG_LINES keeps line numbers right past 65535.
 */
#define DOMXML_PARSE_OPTIONS \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES)

/* Values quoted in a reason are cut here: a hostile attribute can be megabytes long. */
#define QUOTE_MAX 32

#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_t;
#else
typedef xmlErrorPtr xml_error_t;
#endif

struct parse_state {
	startElementNsSAX2Func start_element;
	bool doctype;
	int doctype_line;
	bool failed;
	int err_line;
	int err_code;
	char err_msg[160];
};

/* A value from the document, quoted for a message (str_quote). */
static const char *sanitize(char *buf, size_t n, const char *s, size_t max)
{
	return str_quote(buf, n, s, max);
}

static void on_xml_error(void *data, xml_error_t err)
{
	struct parse_state *st = data;
	char *hint;
	size_t l;

	/* The first error is the cause; what follows is libxml2 recovering from it. */
	if (!st || !err || err->level < XML_ERR_ERROR || st->failed)
		return;
	st->failed = true;
	st->err_line = err->line;
	st->err_code = err->code;
	sanitize(st->err_msg, sizeof(st->err_msg), err->message ? err->message : "error",
		 sizeof(st->err_msg));
	/* libxml2 messages end in a newline, which sanitize turned into \x0a. */
	l = strlen(st->err_msg);
	while (l >= 4 && strcmp(st->err_msg + l - 4, "\\x0a") == 0)
		st->err_msg[l -= 4] = '\0';
	/* "Excessive depth in document: 256 use XML_PARSE_HUGE option": the advice is for
	 * programmers, and the limit stays. */
	hint = strstr(st->err_msg, "use XML_PARSE_HUGE");
	if (hint) {
		while (hint > st->err_msg && (hint[-1] == ' ' || hint[-1] == ','))
			hint--;
		*hint = '\0';
	}
}

static void on_generic_error(void *ctx, const char *msg, ...)
{
}

static xmlParserInputPtr refuse_entity_loader(const char *url, const char *id,
					      xmlParserCtxtPtr ctxt)
{
	/* Nothing outside the document is ever read, whatever slips past the DOCTYPE
	 * refusal below. */
	return NULL;
}

/*
 * A libvirt domain XML never has a DOCTYPE, and a DOCTYPE is the only way to declare
 * entities or pull in an external DTD. Stopping here, before libxml2 reads the internal
 * subset, means no entity declaration is ever looked at.
 */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse_state *st = ctxt->_private;

	st->doctype = true;
	st->doctype_line = xmlSAX2GetLineNumber(ctxt);
	xmlStopParser(ctxt);
}

/*
 * libxml2 stores an element's line in 16 bits and BIG_LINES only helps text nodes. For a
 * reason to name the right line in a long document, keep the real one in the element's
 * psvi, which nothing else uses without schema validation and xmlFreeNode leaves alone.
 */
static void on_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
			     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct parse_state *st = ctxt->_private;
	xmlNode *before = ctxt->node;

	st->start_element(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
			  nb_defaulted, attributes);
	if (ctxt->node && ctxt->node != before && ctxt->node->line == USHRT_MAX && ctxt->input &&
	    ctxt->input->line >= USHRT_MAX)
		ctxt->node->psvi = (void *)(intptr_t)ctxt->input->line;
}

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL && xmlStrEqual(n->name, BAD_CAST name);
}

static int node_line(const xmlNode *n)
{
	long l = n->type == XML_ELEMENT_NODE && n->line == USHRT_MAX && n->psvi
		     ? (long)(intptr_t)n->psvi
		     : xmlGetLineNo((xmlNode *)n);

	return l > 0 && l <= 0x7fffffff ? (int)l : 0;
}

/* The only child element of n called name: 0 when there is exactly one, -ENOENT when
 * none, -EEXIST when several. */
static int only_child(const xmlNode *n, const char *name, xmlNode **ret)
{
	xmlNode *found = NULL;

	for (xmlNode *c = n->children; c; c = c->next) {
		if (!is_elem(c, name))
			continue;
		if (found)
			return -EEXIST;
		found = c;
	}
	if (!found)
		return -ENOENT;
	*ret = found;
	return 0;
}

/*
 * libvirt reads these attributes with base 0 (strtoul): "0x1f" is hex, "31" decimal, but
 * "010" is octal. We accept hex and decimal, and refuse a leading zero on a non-zero
 * decimal rather than guess which device was meant. libvirt itself always writes hex.
 * Returns 0, -EINVAL (not a number), -EDOM (ambiguous leading zero), -ERANGE.
 */
static int parse_addr_number(const char *s, unsigned max, unsigned *ret)
{
	unsigned long v = 0;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	bool nonzero = false;
	const char *p = hex ? s + 2 : s;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return -EINVAL;
		if (d)
			nonzero = true;
		/* Keep scanning for bad characters, but stop growing past any valid range. */
		if (v <= 0xffffffffUL)
			v = v * (hex ? 16 : 10) + d;
	}
	if (!hex && s[0] == '0' && s[1] && nonzero)
		return -EDOM;
	if (v > max)
		return -ERANGE;
	*ret = (unsigned)v;
	return 0;
}

static int parse_addr_attr(const xmlNode *addr, const char *attr, unsigned max, bool required,
			   unsigned *ret, const char *what, int line)
{
	char q[QUOTE_MAX * 4 + 8];
	xmlChar *v = xmlGetNoNsProp(addr, BAD_CAST attr);
	int r;

	if (!v) {
		if (required)
			return reason_set(-EINVAL,
					  "%s:%d: hostdev source address has no %s attribute", what,
					  line, attr);
		*ret = 0;
		return 0;
	}
	r = parse_addr_number((const char *)v, max, ret);
	sanitize(q, sizeof(q), (const char *)v, QUOTE_MAX);
	xmlFree(v);
	switch (r) {
	case 0:
		return 0;
	case -ERANGE:
		return reason_set(-EINVAL,
				  "%s:%d: hostdev source address %s '%s' out of range (0..%#x)",
				  what, line, attr, q, max);
	case -EDOM:
		return reason_set(-EINVAL,
				  "%s:%d: hostdev source address %s '%s' has a leading zero "
				  "(octal to libvirt); write it in hex with 0x",
				  what, line, attr, q);
	default:
		return reason_set(-EINVAL,
				  "%s:%d: hostdev source address %s '%s' is not a number "
				  "(0x-prefixed hex or decimal)",
				  what, line, attr, q);
	}
}

static int parse_pci_hostdev(const xmlNode *hd, const char *what, struct hostdev *ret)
{
	char q[QUOTE_MAX * 4 + 8];
	int line = node_line(hd);
	unsigned domain = 0, bus = 0, slot = 0, fn = 0;
	xmlNode *src, *addr;
	xmlChar *managed;
	struct hostdev h = {.line = line, .managed = MANAGED_ABSENT};
	int r;

	managed = xmlGetNoNsProp(hd, BAD_CAST "managed");
	if (managed) {
		if (xmlStrEqual(managed, BAD_CAST "yes"))
			h.managed = MANAGED_YES;
		else if (xmlStrEqual(managed, BAD_CAST "no"))
			h.managed = MANAGED_NO;
		sanitize(q, sizeof(q), (const char *)managed, QUOTE_MAX);
		xmlFree(managed);
		if (h.managed == MANAGED_ABSENT)
			return reason_set(-EINVAL, "%s:%d: hostdev managed='%s' is not yes or no",
					  what, line, q);
	}

	r = only_child(hd, "source", &src);
	if (r == -ENOENT)
		return reason_set(-EINVAL, "%s:%d: PCI hostdev has no <source>", what, line);
	if (r < 0)
		return reason_set(-EINVAL, "%s:%d: PCI hostdev has more than one <source>", what,
				  line);
	r = only_child(src, "address", &addr);
	if (r == -ENOENT)
		return reason_set(-EINVAL, "%s:%d: PCI hostdev <source> has no <address>", what,
				  line);
	if (r < 0)
		return reason_set(
		    -EINVAL, "%s:%d: PCI hostdev <source> has more than one <address>", what, line);

	r = parse_addr_attr(addr, "domain", 0xffff, false, &domain, what, line);
	if (r >= 0)
		r = parse_addr_attr(addr, "bus", 0xff, true, &bus, what, line);
	if (r >= 0)
		r = parse_addr_attr(addr, "slot", 0x1f, true, &slot, what, line);
	if (r >= 0)
		r = parse_addr_attr(addr, "function", 7, true, &fn, what, line);
	if (r < 0)
		return r;

	h.addr = (struct bdf){.domain = (uint16_t)domain,
			      .bus = (uint8_t)bus,
			      .dev = (uint8_t)slot,
			      .fn = (uint8_t)fn};
	*ret = h;
	return 0;
}

/* Whether a <hostdev> is a PCI host device: mode defaults to subsystem in libvirt. USB,
 * SCSI, mdev and capabilities-mode hostdevs are not ours. */
static int hostdev_is_pci(const xmlNode *hd, const char *what, bool *ret)
{
	xmlChar *mode = xmlGetNoNsProp(hd, BAD_CAST "mode");
	xmlChar *type;
	bool subsys = !mode || xmlStrEqual(mode, BAD_CAST "subsystem");

	xmlFree(mode);
	if (!subsys) {
		*ret = false;
		return 0;
	}
	type = xmlGetNoNsProp(hd, BAD_CAST "type");
	if (!type)
		return reason_set(-EINVAL, "%s:%d: hostdev has no type attribute", what,
				  node_line(hd));
	*ret = xmlStrEqual(type, BAD_CAST "pci");
	xmlFree(type);
	return 0;
}

static int parse_devices(const xmlNode *devices, const char *what, struct domxml *d)
{
	char a[BDF_STRLEN];

	for (xmlNode *n = devices->children; n; n = n->next) {
		struct hostdev h;
		bool pci = false;
		int r;

		/* <interface type='hostdev'> is an SR-IOV network function: out of scope. */
		if (!is_elem(n, "hostdev"))
			continue;
		r = hostdev_is_pci(n, what, &pci);
		if (r < 0)
			return r;
		if (!pci)
			continue;
		if (d->n_hostdevs == DOMXML_MAX_HOSTDEVS)
			return reason_set(-EINVAL, "%s:%d: more than %d PCI hostdevs", what,
					  node_line(n), DOMXML_MAX_HOSTDEVS);
		r = parse_pci_hostdev(n, what, &h);
		if (r < 0)
			return r;
		for (size_t i = 0; i < d->n_hostdevs; i++)
			if (bdf_equal(&d->hostdevs[i].addr, &h.addr))
				return reason_set(
				    -EINVAL, "%s:%d: hostdev %s listed twice (first at line %d)",
				    what, h.line, bdf_fmt(&h.addr, a), d->hostdevs[i].line);
		if (!d->hostdevs) {
			d->hostdevs = calloc(DOMXML_MAX_HOSTDEVS, sizeof(*d->hostdevs));
			if (!d->hostdevs)
				return reason_set(-ENOMEM, "%s: out of memory", what);
		}
		d->hostdevs[d->n_hostdevs++] = h;
	}
	return 0;
}

/* libvirt prints the uuid as 8-4-4-4-12 hex digits and also accepts the dashes left out. */
static bool uuid_valid(const char *s)
{
	size_t digits = 0;

	for (; *s; s++) {
		if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F'))
			digits++;
		else if (*s != '-')
			return false;
	}
	return digits == 32;
}

static int take_name(const xmlNode *n, const char *what, struct domxml *d)
{
	xmlChar *v = xmlNodeGetContent(n);
	int r = 0;

	if (!v)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	/* Taken as is, untrimmed: it has to match the name libvirt gives the hook. */
	if (!v[0])
		r = reason_set(-EINVAL, "%s:%d: domain <name> is empty", what, node_line(n));
	else if (strlcpy_chk(d->name, (const char *)v, sizeof(d->name)) < 0)
		r = reason_set(-EINVAL, "%s:%d: domain <name> longer than %zu bytes", what,
			       node_line(n), sizeof(d->name) - 1);
	xmlFree(v);
	return r;
}

static int take_uuid(const xmlNode *n, const char *what, struct domxml *d)
{
	char q[QUOTE_MAX * 4 + 8];
	xmlChar *v = xmlNodeGetContent(n);
	char *s, *e;
	int r = 0;

	if (!v)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	s = (char *)v;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	if (!uuid_valid(s) || strlcpy_chk(d->uuid, s, sizeof(d->uuid)) < 0)
		r = reason_set(-EINVAL, "%s:%d: domain <uuid> '%s' is not a UUID", what,
			       node_line(n), sanitize(q, sizeof(q), s, QUOTE_MAX));
	xmlFree(v);
	return r;
}

static int parse_domain(const xmlNode *root, const char *what, struct domxml *d)
{
	char q[QUOTE_MAX * 4 + 8];
	int name_line = 0, uuid_line = 0;
	int r;

	if (!is_elem(root, "domain")) {
		sanitize(q, sizeof(q), (const char *)root->name, QUOTE_MAX);
		return reason_set(-EINVAL, "%s:%d: root element is <%s%s>, not <domain>", what,
				  node_line(root), root->ns ? "namespaced " : "", q);
	}
	for (xmlNode *n = root->children; n; n = n->next) {
		if (is_elem(n, "name")) {
			if (name_line)
				return reason_set(-EINVAL,
						  "%s:%d: second <name> (first at line %d)", what,
						  node_line(n), name_line);
			name_line = node_line(n) ?: 1;
			r = take_name(n, what, d);
		} else if (is_elem(n, "uuid")) {
			if (uuid_line)
				return reason_set(-EINVAL,
						  "%s:%d: second <uuid> (first at line %d)", what,
						  node_line(n), uuid_line);
			uuid_line = node_line(n) ?: 1;
			r = take_uuid(n, what, d);
		} else if (is_elem(n, "devices")) {
			/* libvirt takes ./devices/hostdev: every <devices> counts. */
			r = parse_devices(n, what, d);
		} else {
			r = 0;
		}
		if (r < 0)
			return r;
	}
	if (!name_line)
		return reason_set(-EINVAL, "%s:%d: domain has no <name>", what, node_line(root));
	return 0;
}

int domxml_parse_mem(const char *buf, size_t len, const char *what, struct domxml *ret)
{
	xmlGenericErrorFunc old_generic = xmlGenericError;
	void *old_generic_ctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc old_structured = xmlStructuredError;
	void *old_structured_ctx = xmlStructuredErrorContext;
	xmlExternalEntityLoader old_loader;
	struct parse_state st = {0};
	struct domxml d = {0};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	xmlNode *root;
	bool well_formed;
	long consumed;
	int r;

	if (len > DOMXML_MAX_BYTES)
		return reason_set(-EFBIG, "%s: domain XML larger than %d MiB", what,
				  DOMXML_MAX_BYTES >> 20);
	if (len == 0)
		return reason_set(-EINVAL, "%s: domain XML is empty", what);

	xmlInitParser();
	ctxt = xmlCreateMemoryParserCtxt(buf, (int)len);
	if (!ctxt)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	ctxt->_private = &st;
	ctxt->sax->internalSubset = on_doctype;
	ctxt->sax->externalSubset = NULL;
	st.start_element = ctxt->sax->startElementNs;
	if (st.start_element)
		ctxt->sax->startElementNs = on_start_element;
	xmlCtxtUseOptions(ctxt, DOMXML_PARSE_OPTIONS);

	/*
	 * libxml2's handlers are process globals; ours are in place only for this parse.
	 * The structured handler has to be the global one: with XML_PARSE_NOERROR, libxml2
	 * 2.9 drops an error before it reaches a per-context handler.
	 */
	xmlSetGenericErrorFunc(NULL, on_generic_error);
	xmlSetStructuredErrorFunc(&st, on_xml_error);
	old_loader = xmlGetExternalEntityLoader();
	xmlSetExternalEntityLoader(refuse_entity_loader);

	xmlParseDocument(ctxt);

	xmlSetExternalEntityLoader(old_loader);
	xmlSetStructuredErrorFunc(old_structured_ctx, old_structured);
	xmlSetGenericErrorFunc(old_generic_ctx, old_generic);

	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	well_formed = ctxt->wellFormed && ctxt->nsWellFormed;
	/* libxml2 takes a NUL byte for the end of the input: whatever follows the root
	 * element after one would go unnoticed. */
	consumed = xmlByteConsumed(ctxt);
	xmlFreeParserCtxt(ctxt);

	if (st.doctype || (doc && (doc->intSubset || doc->extSubset))) {
		r = reason_set(-EINVAL,
			       "%s:%d: DOCTYPE refused: a domain XML has none, and it could "
			       "declare entities or load an external DTD",
			       what, st.doctype_line);
		goto out;
	}
	if (st.failed || !well_formed || !doc) {
		if (st.err_code == XML_ERR_NO_MEMORY)
			r = reason_set(-ENOMEM, "%s: out of memory", what);
		else if (st.failed)
			r = reason_set(-EINVAL, "%s:%d: not well-formed XML: %s", what, st.err_line,
				       st.err_msg);
		else
			r = reason_set(-EINVAL, "%s: not well-formed XML", what);
		goto out;
	}
	if (consumed >= 0 && (size_t)consumed < len) {
		r = reason_set(-EINVAL,
			       "%s: not well-formed XML: data after the root element (at byte %ld)",
			       what, consumed);
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root) {
		r = reason_set(-EINVAL, "%s: no root element", what);
		goto out;
	}
	r = parse_domain(root, what, &d);
	if (r < 0)
		goto out;
	*ret = d;
	d = (struct domxml){0};
out:
	free(d.hostdevs);
	xmlFreeDoc(doc);
	return r;
}

int domxml_parse_fd(int fd, const char *what, struct domxml *ret)
{
	/* One byte past the limit tells "exactly at the limit" from "too large". */
	const size_t limit = (size_t)DOMXML_MAX_BYTES + 1;
	size_t cap = 64 * 1024, len = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!buf)
		return reason_set(-ENOMEM, "%s: out of memory", what);
	while (len < limit) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap * 2 < limit ? cap * 2 : limit;
			char *nbuf = realloc(buf, ncap);

			if (!nbuf)
				return reason_set(-ENOMEM, "%s: out of memory", what);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			return reason_set(-e, "%s: read failed: %s", what, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > DOMXML_MAX_BYTES)
		return reason_set(-EFBIG, "%s: domain XML larger than %d MiB", what,
				  DOMXML_MAX_BYTES >> 20);
	return domxml_parse_mem(buf, len, what, ret);
}

int domxml_parse_file(const char *path, struct domxml *ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		return reason_set(-e, "%s: cannot open: %s", path, strerror(e));
	}
	return domxml_parse_fd(fd, path, ret);
}

void domxml_free(struct domxml *d)
{
	if (!d)
		return;
	free(d->hostdevs);
	d->hostdevs = NULL;
	d->n_hostdevs = 0;
}

/* libxml2 with every door closed, for a document nobody vouches for: no network, no DTD, no
 * entity, no DOCTYPE at all, libxml2's own depth and size limits on, its messages turned
 * into one line that names the line of the document. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "base/log.h"
#include "base/util.h"
#include "input/xmlsafe.h"
#include "input/xmlscan.h"

/*
 * No network, no DTD loading, and no entity substitution: XML_PARSE_NOENT and
 * XML_PARSE_DTDLOAD are deliberately absent, and so is XML_PARSE_HUGE, which keeps
 * libxml2's own depth and text-size limits on. libxml2 prints nothing; errors reach
 * on_xml_error. BIG_LINES keeps line numbers right past 65535.
 */
#define DOMXML_PARSE_OPTIONS \
	(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES)

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
	str_quote(st->err_msg, sizeof(st->err_msg), err->message ? err->message : "error",
		  sizeof(st->err_msg));
	/* libxml2 messages end in a newline, which str_quote turned into \x0a. */
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

int xmlsafe_line(const xmlNode *n)
{
	long l = n->type == XML_ELEMENT_NODE && n->line == USHRT_MAX && n->psvi
		     ? (long)(intptr_t)n->psvi
		     : xmlGetLineNo((xmlNode *)n);

	return l > 0 && l <= 0x7fffffff ? (int)l : 0;
}

int xmlsafe_read(const char *buf, size_t len, size_t max, const char *what, xmlDocPtr *ret)
{
	xmlGenericErrorFunc old_generic = xmlGenericError;
	void *old_generic_ctx = xmlGenericErrorContext;
	xmlStructuredErrorFunc old_structured = xmlStructuredError;
	void *old_structured_ctx = xmlStructuredErrorContext;
	xmlExternalEntityLoader old_loader;
	struct parse_state st = {0};
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;
	bool well_formed;
	long consumed;
	int r;

	if (len > max)
		return reason_set(-EFBIG, "%s: domain XML larger than %zu MiB", what, max >> 20);
	if (len == 0)
		return reason_set(-EINVAL, "%s: domain XML is empty", what);
	/* libxml2's parse time grows with the square of an element's attributes. */
	r = xmlscan_check(buf, len, what);
	if (r < 0)
		return r;

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
	*ret = doc;
	return 0;
out:
	xmlFreeDoc(doc);
	return r;
}

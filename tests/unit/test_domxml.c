/* Unit tests of the domain XML parser: libvirt's own output, broken documents, and
 * documents written to attack the parser. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxml/xmlerror.h>
#include <libxml/globals.h>
#include <libxml/xmlversion.h>

#include "base/log.h"
#include "base/util.h"
#include "input/domxml.h"

#define assert_reason_has(s)                                                           \
	do {                                                                           \
		if (!strstr(reason_get(), (s)))                                        \
			fail_msg("reason \"%s\" lacks \"%s\"", reason_get(), (s));     \
	} while (0)

#define assert_bdf(b, d, bu, s, f)                                                     \
	do {                                                                           \
		assert_int_equal((b).domain, (d));                                     \
		assert_int_equal((b).bus, (bu));                                       \
		assert_int_equal((b).dev, (s));                                        \
		assert_int_equal((b).fn, (f));                                         \
	} while (0)

/* malloc for tests: cmocka's assertions do not tell the compiler they stop the test. */
static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

static int parse(const char *xml, struct domxml *d)
{
	reason_clear();
	return domxml_parse_mem(xml, strlen(xml), "t.xml", d);
}

/* A document with one PCI hostdev at line 3 whose <address> carries attrs. */
static int parse_addr(const char *attrs, struct domxml *d)
{
	char xml[4096];

	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'>\n"
		 "<name>vm</name><devices>\n"
		 "<hostdev mode='subsystem' type='pci' managed='yes'><source><address %s/>"
		 "</source></hostdev>\n"
		 "</devices></domain>\n",
		 attrs);
	return parse(xml, d);
}

/* What `virsh dumpxml` prints for a Windows guest with a GPU and its HDMI audio. */
static const char win10_xml[] =
	"<domain type='kvm' id='3'>\n"						/* 1 */
	"  <name>win10</name>\n"						/* 2 */
	"  <uuid>5b1f7d0e-8c3a-4f6e-9d21-0a4b5c6d7e8f</uuid>\n"		/* 3 */
	"  <metadata>\n"							/* 4 */
	"    <libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>\n"
	"      <libosinfo:os id='http://microsoft.com/win/10'/>\n"		/* 6 */
	"    </libosinfo:libosinfo>\n"						/* 7 */
	"  </metadata>\n"							/* 8 */
	"  <memory unit='KiB'>16777216</memory>\n"				/* 9 */
	"  <os firmware='efi'>\n"						/* 10 */
	"    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n"		/* 11 */
	"  </os>\n"								/* 12 */
	"  <devices>\n"								/* 13 */
	"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"		/* 14 */
	"    <hostdev mode='subsystem' type='pci' managed='yes'>\n"		/* 15 */
	"      <source>\n"							/* 16 */
	"        <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
	"      </source>\n"							/* 18 */
	"      <alias name='hostdev0'/>\n"					/* 19 */
	"      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>\n"
	"    </hostdev>\n"							/* 21 */
	"    <hostdev mode='subsystem' type='pci' managed='yes'>\n"		/* 22 */
	"      <source>\n"							/* 23 */
	"        <address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>\n"
	"      </source>\n"							/* 25 */
	"      <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>\n"
	"    </hostdev>\n"							/* 27 */
	"  </devices>\n"							/* 28 */
	"</domain>\n";

static void test_libvirt_output_gives_name_uuid_and_hostdevs(void **state)
{
	struct domxml d;

	assert_int_equal(parse(win10_xml, &d), 0);
	assert_string_equal(d.name, "win10");
	assert_string_equal(d.uuid, "5b1f7d0e-8c3a-4f6e-9d21-0a4b5c6d7e8f");
	assert_int_equal(d.n_hostdevs, 2);
	/* The source address, not the guest-side <address type='pci' bus='0x05'>. */
	assert_bdf(d.hostdevs[0].addr, 0, 1, 0, 0);
	assert_bdf(d.hostdevs[1].addr, 0, 1, 0, 1);
	assert_int_equal(d.hostdevs[0].managed, MANAGED_YES);
	assert_int_equal(d.hostdevs[1].managed, MANAGED_YES);
	assert_int_equal(d.hostdevs[0].line, 15);
	assert_int_equal(d.hostdevs[1].line, 22);
	assert_string_equal(reason_get(), "");
	domxml_free(&d);
	assert_null(d.hostdevs);
	assert_int_equal(d.n_hostdevs, 0);
	domxml_free(&d);	/* twice is harmless */
}

static void test_decimal_addresses_are_accepted(void **state)
{
	struct domxml d;

	assert_int_equal(parse_addr("domain='0000' bus='10' slot='31' function='7'", &d), 0);
	assert_int_equal(d.n_hostdevs, 1);
	assert_bdf(d.hostdevs[0].addr, 0, 10, 31, 7);
	domxml_free(&d);

	assert_int_equal(parse_addr("domain='65535' bus='255' slot='0' function='0'", &d), 0);
	assert_bdf(d.hostdevs[0].addr, 0xffff, 0xff, 0, 0);
	domxml_free(&d);

	/* Upper-case hex digits and prefix. */
	assert_int_equal(parse_addr("domain='0X000A' bus='0xAb' slot='0x1F' function='0x7'", &d),
			 0);
	assert_bdf(d.hostdevs[0].addr, 0xa, 0xab, 0x1f, 7);
	domxml_free(&d);
}

static void test_missing_domain_attribute_means_domain_zero(void **state)
{
	struct domxml d;

	assert_int_equal(parse_addr("bus='0x2d' slot='0x00' function='0x3'", &d), 0);
	assert_bdf(d.hostdevs[0].addr, 0, 0x2d, 0, 3);
	domxml_free(&d);
}

static void test_managed_yes_no_and_absent(void **state)
{
	static const char xml[] =
		"<domain><name>vm</name><devices>\n"
		"<hostdev mode='subsystem' type='pci' managed='no'><source>"
		"<address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev>\n"
		"<hostdev type='pci'><source>"
		"<address domain='0x0000' bus='0x02' slot='0x00' function='0x1'/></source></hostdev>\n"
		"<hostdev mode='subsystem' type='pci' managed='yes'><source>"
		"<address domain='0x0000' bus='0x02' slot='0x00' function='0x2'/></source></hostdev>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 3);
	assert_int_equal(d.hostdevs[0].managed, MANAGED_NO);
	/* No mode attribute: libvirt defaults it to subsystem. */
	assert_int_equal(d.hostdevs[1].managed, MANAGED_ABSENT);
	assert_int_equal(d.hostdevs[2].managed, MANAGED_YES);
	assert_int_equal(d.hostdevs[0].line, 2);
	assert_int_equal(d.hostdevs[1].line, 3);
	assert_int_equal(d.hostdevs[2].line, 4);
	assert_bdf(d.hostdevs[2].addr, 0, 2, 0, 2);
	domxml_free(&d);
}

static void test_non_pci_hostdevs_are_ignored(void **state)
{
	static const char xml[] =
		"<domain type='kvm'><name>mixed</name><devices>\n"
		"<hostdev mode='subsystem' type='usb' managed='yes'><source>"
		"<vendor id='0x046d'/><product id='0xc52b'/></source></hostdev>\n"
		"<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
		"<address bus='0' target='0' unit='0'/></source></hostdev>\n"
		"<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
		"<address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\n"
		"<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block>"
		"</source></hostdev>\n"
		"<interface type='hostdev' managed='yes'><source><address type='usb' "
		"bus='1' device='3'/></source></interface>\n"
		"<hostdev mode='subsystem' type='pci' managed='yes'><source>"
		"<address domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></source></hostdev>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 1);
	assert_bdf(d.hostdevs[0].addr, 0, 4, 0, 0);
	assert_int_equal(d.hostdevs[0].line, 7);
	domxml_free(&d);
}

static void test_no_hostdev_gives_empty_list(void **state)
{
	static const char xml[] =
		"<?xml version='1.0' encoding='UTF-8'?>\n"
		"<domain type='kvm'><name>plain</name><devices>"
		"<disk type='file' device='disk'><source file='/var/lib/libvirt/images/a.qcow2'/>"
		"<target dev='vda' bus='virtio'/><address type='pci' domain='0x0000' bus='0x04' "
		"slot='0x00' function='0x0'/></disk></devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_string_equal(d.name, "plain");
	assert_string_equal(d.uuid, "");
	assert_int_equal(d.n_hostdevs, 0);
	assert_null(d.hostdevs);
	domxml_free(&d);

	assert_int_equal(parse("<domain><name>bare</name></domain>", &d), 0);
	assert_int_equal(d.n_hostdevs, 0);
	domxml_free(&d);
}

static void test_hostdevs_in_every_devices_element_count(void **state)
{
	static const char xml[] =
		"<domain><name>vm</name>"
		"<devices><hostdev type='pci'><source><address bus='1' slot='0' function='0'/>"
		"</source></hostdev></devices>"
		"<devices><hostdev type='pci'><source><address bus='2' slot='0' function='0'/>"
		"</source></hostdev></devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 2);
	assert_bdf(d.hostdevs[1].addr, 0, 2, 0, 0);
	domxml_free(&d);
}

/* n PCI hostdevs on consecutive functions and buses, one per line from line 2. */
static char *many_hostdevs(int n)
{
	size_t cap = 256 + (size_t)n * 160, len;
	char *xml = xmalloc(cap);

	len = (size_t)snprintf(xml, cap, "<domain><name>many</name><devices>\n");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(xml + len, cap - len,
					"<hostdev mode='subsystem' type='pci'><source><address "
					"domain='0' bus='%d' slot='0' function='%d'/></source>"
					"</hostdev>\n",
					i / 8 + 1, i % 8);
	snprintf(xml + len, cap - len, "</devices></domain>\n");
	return xml;
}

static void test_64_hostdevs_accepted_65_refused(void **state)
{
	char *xml = many_hostdevs(DOMXML_MAX_HOSTDEVS);
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, DOMXML_MAX_HOSTDEVS);
	assert_bdf(d.hostdevs[63].addr, 0, 8, 0, 7);
	domxml_free(&d);
	free(xml);

	xml = many_hostdevs(DOMXML_MAX_HOSTDEVS + 1);
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:66: more than 64 PCI hostdevs");
	free(xml);
}

static void test_line_numbers_past_65535(void **state)
{
	size_t pad = 70000;
	char *xml = xmalloc(pad + 512);
	struct domxml d;

	strcpy(xml, "<domain><name>long</name><devices>");
	memset(xml + strlen(xml), '\n', pad);
	strcpy(xml + strlen("<domain><name>long</name><devices>") + pad, "<hostdev type='pci'><source><address bus='0x10' slot='0x1f' "
			       "function='0'/></source></hostdev></devices></domain>");
	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 1);
	assert_int_equal(d.hostdevs[0].line, 70001);
	domxml_free(&d);
	free(xml);
}

/* ---- broken documents ---- */

static void test_unclosed_tag_names_file_and_line(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<domain>\n<name>vm</name>\n<devices>\n</domain>\n", &d), -EINVAL);
	assert_reason_has("t.xml:4: not well-formed XML");
	assert_reason_has("devices");

	assert_int_equal(parse("<domain>\n<name>vm</name>\n", &d), -EINVAL);
	assert_reason_has("t.xml:");
	assert_reason_has("not well-formed XML");
}

static void test_empty_and_garbage_input_refused(void **state)
{
	struct domxml d;

	reason_clear();
	assert_int_equal(domxml_parse_mem("", 0, "t.xml", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml: domain XML is empty");
	assert_int_equal(parse("not xml at all", &d), -EINVAL);
	assert_reason_has("t.xml:1: not well-formed XML");
	assert_int_equal(parse("<domain><name>a</name></domain><domain/>", &d), -EINVAL);
	assert_reason_has("not well-formed XML");
}

static void test_wrong_root_refused(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<?xml version='1.0'?>\n<network><name>default</name></network>",
			       &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: root element is <network>, not <domain>");

	assert_int_equal(parse("<domain xmlns='urn:x'><name>a</name></domain>", &d), -EINVAL);
	assert_reason_has("namespaced domain");
}

static void test_missing_empty_or_second_name_refused(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<domain type='kvm'>\n<uuid>5b1f7d0e8c3a4f6e9d210a4b5c6d7e8f</uuid>"
			       "</domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:1: domain has no <name>");

	assert_int_equal(parse("<domain>\n<name></name></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: domain <name> is empty");

	assert_int_equal(parse("<domain><name>a</name>\n<name>b</name></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: second <name> (first at line 1)");
}

static void test_overlong_name_refused(void **state)
{
	char xml[1024];
	struct domxml d;

	snprintf(xml, sizeof(xml), "<domain><name>%0300d</name></domain>", 7);
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:1: domain <name> longer than 255 bytes");

	snprintf(xml, sizeof(xml), "<domain><name>%0255d</name></domain>", 7);
	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(strlen(d.name), 255);
	domxml_free(&d);
}

static void test_bad_uuid_refused(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<domain><name>a</name><uuid>not-a-uuid</uuid></domain>", &d),
			 -EINVAL);
	assert_string_equal(reason_get(), "t.xml:1: domain <uuid> 'not-a-uuid' is not a UUID");
	/* libvirt also accepts the dashes left out. */
	assert_int_equal(parse("<domain><name>a</name><uuid> 5B1F7D0E8C3A4F6E9D210A4B5C6D7E8F\n"
			       "</uuid></domain>", &d), 0);
	assert_string_equal(d.uuid, "5B1F7D0E8C3A4F6E9D210A4B5C6D7E8F");
	domxml_free(&d);
}

static void test_bad_address_values_name_the_attribute(void **state)
{
	static const struct {
		const char *attrs;
		const char *reason;
	} cases[] = {
		{ "domain='0' bus='0xZZ' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '0xZZ' is not a number "
		  "(0x-prefixed hex or decimal)" },
		{ "domain='0' bus='300' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '300' out of range (0..0xff)" },
		{ "domain='0' bus='-1' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '-1' is not a number "
		  "(0x-prefixed hex or decimal)" },
		{ "domain='0x0000' bus='0x01' slot='0x20' function='0x0'",
		  "t.xml:3: hostdev source address slot '0x20' out of range (0..0x1f)" },
		{ "domain='0x0000' bus='0x01' slot='0x00' function='8'",
		  "t.xml:3: hostdev source address function '8' out of range (0..0x7)" },
		{ "domain='0x10000' bus='0x01' slot='0x00' function='0'",
		  "t.xml:3: hostdev source address domain '0x10000' out of range (0..0xffff)" },
		{ "domain='0' bus='' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '' is not a number "
		  "(0x-prefixed hex or decimal)" },
		{ "domain='0' bus='0x' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '0x' is not a number "
		  "(0x-prefixed hex or decimal)" },
		{ "domain='0' bus=' 1' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus ' 1' is not a number "
		  "(0x-prefixed hex or decimal)" },
		{ "domain='0' bus='1.0' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '1.0' is not a number "
		  "(0x-prefixed hex or decimal)" },
		{ "domain='0' bus='99999999999999999999999' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '99999999999999999999999' out of range "
		  "(0..0xff)" },
		{ "domain='0' bus='010' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '010' has a leading zero (octal to "
		  "libvirt); write it in hex with 0x" },
		{ "domain='0' slot='0' function='0'",
		  "t.xml:3: hostdev source address has no bus attribute" },
		{ "domain='0' bus='1' function='0'",
		  "t.xml:3: hostdev source address has no slot attribute" },
		{ "domain='0' bus='1' slot='0'",
		  "t.xml:3: hostdev source address has no function attribute" },
		{ "domain='0' bus='&#9;1' slot='0' function='0'",
		  "t.xml:3: hostdev source address bus '\\x091' is not a number "
		  "(0x-prefixed hex or decimal)" },
	};
	struct domxml d = { .name = "untouched" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse_addr(cases[i].attrs, &d);

		if (r != -EINVAL || strcmp(reason_get(), cases[i].reason) != 0)
			fail_msg("%s: got %d \"%s\", want \"%s\"", cases[i].attrs, r,
				 reason_get(), cases[i].reason);
		/* ret is written only on success. */
		assert_string_equal(d.name, "untouched");
		assert_null(d.hostdevs);
	}
}

static void test_bad_managed_value_names_line(void **state)
{
	static const char xml[] =
		"<domain><name>vm</name><devices>\n"
		"\n"
		"<hostdev mode='subsystem' type='pci' managed='true'><source>"
		"<address bus='1' slot='0' function='0'/></source></hostdev>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:3: hostdev managed='true' is not yes or no");
}

static void test_malformed_pci_hostdev_refused(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<domain><name>a</name><devices>\n<hostdev type='pci'>"
			       "<driver name='vfio'/></hostdev></devices></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: PCI hostdev has no <source>");

	assert_int_equal(parse("<domain><name>a</name><devices>\n<hostdev type='pci'><source>"
			       "</source></hostdev></devices></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: PCI hostdev <source> has no <address>");

	assert_int_equal(parse("<domain><name>a</name><devices>\n<hostdev type='pci'><source>"
			       "<address bus='1' slot='0' function='0'/></source><source>"
			       "<address bus='2' slot='0' function='0'/></source></hostdev>"
			       "</devices></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: PCI hostdev has more than one <source>");

	assert_int_equal(parse("<domain><name>a</name><devices>\n<hostdev type='pci'><source>"
			       "<address bus='1' slot='0' function='0'/>"
			       "<address bus='2' slot='0' function='0'/></source></hostdev>"
			       "</devices></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:2: PCI hostdev <source> has more than one <address>");

	assert_int_equal(parse("<domain><name>a</name><devices>\n<hostdev mode='subsystem'>"
			       "<source><address bus='1' slot='0' function='0'/></source>"
			       "</hostdev></devices></domain>", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml:2: hostdev has no type attribute");
}

static void test_duplicate_address_refused(void **state)
{
	static const char xml[] =
		"<domain><name>vm</name><devices>\n"
		"<hostdev type='pci'><source><address bus='0x01' slot='0x00' function='0x1'/>"
		"</source></hostdev>\n"
		"<hostdev type='pci'><source><address domain='0' bus='1' slot='0' function='1'/>"
		"</source></hostdev>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:3: hostdev 0000:01:00.1 listed twice (first at line 2)");
}

/* ---- hostile documents ---- */

static void test_billion_laughs_refused_at_doctype(void **state)
{
	static const char xml[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain [\n"
		" <!ENTITY a0 'lol'>\n"
		" <!ENTITY a1 '&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;&a0;'>\n"
		" <!ENTITY a2 '&a1;&a1;&a1;&a1;&a1;&a1;&a1;&a1;&a1;&a1;'>\n"
		" <!ENTITY a3 '&a2;&a2;&a2;&a2;&a2;&a2;&a2;&a2;&a2;&a2;'>\n"
		" <!ENTITY a4 '&a3;&a3;&a3;&a3;&a3;&a3;&a3;&a3;&a3;&a3;'>\n"
		" <!ENTITY a5 '&a4;&a4;&a4;&a4;&a4;&a4;&a4;&a4;&a4;&a4;'>\n"
		" <!ENTITY a6 '&a5;&a5;&a5;&a5;&a5;&a5;&a5;&a5;&a5;&a5;'>\n"
		" <!ENTITY a7 '&a6;&a6;&a6;&a6;&a6;&a6;&a6;&a6;&a6;&a6;'>\n"
		" <!ENTITY a8 '&a7;&a7;&a7;&a7;&a7;&a7;&a7;&a7;&a7;&a7;'>\n"
		" <!ENTITY a9 '&a8;&a8;&a8;&a8;&a8;&a8;&a8;&a8;&a8;&a8;'>\n"
		"]>\n"
		"<domain><name>&a9;</name></domain>\n";
	struct domxml d = { .name = "untouched" };

	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:2: DOCTYPE refused: a domain XML has none, and it could "
			    "declare entities or load an external DTD");
	assert_string_equal(d.name, "untouched");
}

static void test_external_dtd_refused(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<!DOCTYPE domain SYSTEM \"file:///etc/passwd\">\n"
			       "<domain><name>vm</name></domain>", &d), -EINVAL);
	assert_reason_has("t.xml:1: DOCTYPE refused");

	assert_int_equal(parse("<!DOCTYPE domain PUBLIC \"-//x//y\" \"http://127.0.0.1:1/d.dtd\">"
			       "<domain><name>vm</name></domain>", &d), -EINVAL);
	assert_reason_has("DOCTYPE refused");

	/* Even the harmless form: a domain XML never has one. */
	assert_int_equal(parse("<!DOCTYPE domain><domain><name>vm</name></domain>", &d),
			 -EINVAL);
	assert_reason_has("DOCTYPE refused");
}

static void test_external_entity_is_never_read(void **state)
{
	struct domxml d = { .name = "untouched" };

	assert_int_equal(parse("<?xml version='1.0'?>\n<!DOCTYPE domain [\n"
			       "<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
			       "<domain><name>&xxe;</name></domain>", &d), -EINVAL);
	assert_reason_has("t.xml:2: DOCTYPE refused");
	assert_null(strstr(d.name, "root"));

	/* Without a DOCTYPE, an entity reference is simply undefined. */
	assert_int_equal(parse("<domain>\n<name>&xxe;</name></domain>", &d), -EINVAL);
	assert_reason_has("t.xml:2: not well-formed XML");
	assert_reason_has("xxe");
	assert_string_equal(d.name, "untouched");
}

/* The same refusal when the DOCTYPE hides in UTF-16, where a byte scan would miss it. */
static void test_doctype_refused_in_utf16(void **state)
{
	static const char ascii[] = "<?xml version='1.0' encoding='UTF-16'?>\n"
				    "<!DOCTYPE domain [<!ENTITY x 'y'>]>\n"
				    "<domain><name>&x;</name></domain>\n";
	char buf[2 + 2 * sizeof(ascii)];
	size_t n = 0;
	struct domxml d;

	buf[n++] = (char)0xff;
	buf[n++] = (char)0xfe;
	for (size_t i = 0; ascii[i]; i++) {
		buf[n++] = ascii[i];
		buf[n++] = 0;
	}
	reason_clear();
	assert_int_equal(domxml_parse_mem(buf, n, "t.xml", &d), -EINVAL);
	assert_reason_has("t.xml:2: DOCTYPE refused");
}

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/vh-domxml-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void test_xinclude_is_not_processed(void **state)
{
	char inc[128], secret[128], xml[1024];
	static const char hostdev[] = "<hostdev mode='subsystem' type='pci'><source>"
				      "<address bus='0x09' slot='0' function='0'/></source>"
				      "</hostdev>";
	struct domxml d;

	snprintf(inc, sizeof(inc), "%s/hostdev.xml", tmpdir);
	snprintf(secret, sizeof(secret), "%s/secret", tmpdir);
	write_file(inc, hostdev, strlen(hostdev));
	write_file(secret, "SECRET", 6);
	snprintf(xml, sizeof(xml),
		 "<domain xmlns:xi='http://www.w3.org/2001/XInclude'>"
		 "<name>vm<xi:include href='%s' parse='text'/></name>"
		 "<devices><xi:include href='%s'/></devices></domain>",
		 secret, inc);
	assert_int_equal(parse(xml, &d), 0);
	assert_string_equal(d.name, "vm");
	assert_int_equal(d.n_hostdevs, 0);
	domxml_free(&d);
}

/* Feeds len bytes of a document padded with spaces into a pipe from a child. */
static pid_t pipe_writer(size_t len, int *ret_fd)
{
	static const char head[] = "<domain><name>big</name>";
	static const char tail[] = "</domain>";
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char chunk[65536];
		size_t left = len - strlen(head) - strlen(tail);

		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		memset(chunk, ' ', sizeof(chunk));
		if (write(p[1], head, strlen(head)) < 0)
			_exit(1);
		while (left) {
			size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
			ssize_t w = write(p[1], chunk, n);

			if (w <= 0)
				_exit(0);	/* the reader stopped: expected for too much */
			left -= (size_t)w;
		}
		if (write(p[1], tail, strlen(tail)) < 0)
			_exit(0);
		_exit(0);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

static void test_input_over_4mib_from_pipe_refused(void **state)
{
	struct domxml d = { .name = "untouched" };
	int fd, status;
	pid_t pid = pipe_writer((size_t)DOMXML_MAX_BYTES + 4096, &fd);

	reason_clear();
	assert_int_equal(domxml_parse_fd(fd, "stdin", &d), -EFBIG);
	assert_string_equal(reason_get(), "stdin: domain XML larger than 4 MiB");
	assert_string_equal(d.name, "untouched");
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	/* One byte over is over. */
	pid = pipe_writer((size_t)DOMXML_MAX_BYTES + 1, &fd);
	reason_clear();
	assert_int_equal(domxml_parse_fd(fd, "stdin", &d), -EFBIG);
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);

	reason_clear();
	assert_int_equal(domxml_parse_mem("<x/>", (size_t)DOMXML_MAX_BYTES + 1, "t.xml", &d),
			 -EFBIG);
	assert_string_equal(reason_get(), "t.xml: domain XML larger than 4 MiB");
}

static void test_input_of_exactly_4mib_from_pipe_accepted(void **state)
{
	struct domxml d;
	int fd, status;
	pid_t pid = pipe_writer(DOMXML_MAX_BYTES, &fd);

	reason_clear();
	assert_int_equal(domxml_parse_fd(fd, "stdin", &d), 0);
	assert_string_equal(d.name, "big");
	domxml_free(&d);
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_deep_nesting_refused(void **state)
{
	const int depth = 10000;
	size_t cap = (size_t)depth * 7 + 128, len;
	char *xml = xmalloc(cap);
	struct domxml d;

	len = (size_t)sprintf(xml, "<domain><name>deep</name>");
	for (int i = 0; i < depth; i++, len += 3)
		memcpy(xml + len, "<a>", 3);
	for (int i = 0; i < depth; i++, len += 4)
		memcpy(xml + len, "</a>", 4);
	sprintf(xml + len, "</domain>");
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:1: not well-formed XML: Excessive depth in document: 256");
	free(xml);
}

static void test_nul_bytes_refused(void **state)
{
	static const char in_text[] = "<domain><name>vm\0evil</name></domain>";
	static const char in_attr[] = "<domain><name>vm</name><devices><hostdev type='pci'>"
				      "<source><address bus='1\0' slot='0' function='0'/>"
				      "</source></hostdev></devices></domain>";
	static const char trailing[] = "<domain><name>vm</name></domain>\n\0";
	struct domxml d;

	reason_clear();
	assert_int_equal(domxml_parse_mem(in_text, sizeof(in_text) - 1, "t.xml", &d), -EINVAL);
	assert_reason_has("t.xml:1: not well-formed XML");
	reason_clear();
	assert_int_equal(domxml_parse_mem(in_attr, sizeof(in_attr) - 1, "t.xml", &d), -EINVAL);
	assert_reason_has("t.xml:1: not well-formed XML");
	/* libxml2 stops at a NUL as if the input ended there. */
	reason_clear();
	assert_int_equal(domxml_parse_mem(trailing, sizeof(trailing) - 1, "t.xml", &d), -EINVAL);
	assert_string_equal(reason_get(), "t.xml: not well-formed XML: data after the root "
					  "element (at byte 33)");
}

static void test_comments_and_blanks_after_root_accepted(void **state)
{
	struct domxml d;

	assert_int_equal(parse("<domain><name>a</name></domain>\n<!-- saved by hand -->\n"
			       "<?tool x?>\n  \n", &d), 0);
	assert_string_equal(d.name, "a");
	domxml_free(&d);
}

/* Encodings other than UTF-8 are XML too; the end-of-input check must count their bytes. */
static void test_utf16_document_accepted(void **state)
{
	static const char ascii[] = "<?xml version='1.0' encoding='UTF-16'?>\n"
				    "<domain><name>u16</name><devices><hostdev type='pci'>"
				    "<source><address bus='0x0b' slot='0' function='1'/></source>"
				    "</hostdev></devices></domain>\n";
	char buf[2 + 2 * sizeof(ascii)];
	size_t n = 0;
	struct domxml d;

	buf[n++] = (char)0xff;
	buf[n++] = (char)0xfe;
	for (size_t i = 0; ascii[i]; i++) {
		buf[n++] = ascii[i];
		buf[n++] = 0;
	}
	reason_clear();
	assert_int_equal(domxml_parse_mem(buf, n, "t.xml", &d), 0);
	assert_string_equal(d.name, "u16");
	assert_int_equal(d.n_hostdevs, 1);
	assert_bdf(d.hostdevs[0].addr, 0, 0xb, 0, 1);
	domxml_free(&d);
}

static void test_huge_attribute_is_cut_in_reason(void **state)
{
	static const char head[] = "<domain><name>vm</name><devices><hostdev type='pci'>"
				   "<source><address bus='1' slot='";
	static const char tail[] = "' function='0'/></source></hostdev></devices></domain>";
	const size_t big = 1 << 20;
	char *xml = xmalloc(sizeof(head) + big + sizeof(tail));
	struct domxml d;

	memcpy(xml, head, sizeof(head) - 1);
	memset(xml + sizeof(head) - 1, '9', big);
	memcpy(xml + sizeof(head) - 1 + big, tail, sizeof(tail));
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_reason_has("t.xml:1: hostdev source address slot '99999999");
	assert_reason_has("...' out of range (0..0x1f)");
	assert_true(strlen(reason_get()) < 200);
	free(xml);
}

/* libxml2 must not print: in hook mode stderr is what libvirt shows the user. */
static void test_libxml2_prints_nothing(void **state)
{
	char path[128], buf[256];
	int saved, fd;
	struct domxml d;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);

	parse("<domain>\n<name>vm</name>\n<devices>\n</domain>\n", &d);
	parse("<!DOCTYPE domain SYSTEM 'file:///etc/passwd'><domain/>", &d);
	parse("<domain><name>&undefined;</name><x:y/></domain>", &d);

	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	if (n)
		fail_msg("stderr got \"%s\"", buf);
}

static int count_errors;

#if LIBXML_VERSION >= 21200
static void counting_handler(void *ctx, const xmlError *err)
#else
static void counting_handler(void *ctx, xmlErrorPtr err)
#endif
{
	count_errors++;
}

static void test_caller_error_handler_is_restored(void **state)
{
	struct domxml d;

	xmlSetStructuredErrorFunc(&count_errors, counting_handler);
	count_errors = 0;
	assert_int_equal(parse("<domain><name>vm</name>", &d), -EINVAL);
	assert_int_equal(count_errors, 0);
	assert_ptr_equal(xmlStructuredError, counting_handler);
	assert_ptr_equal(xmlStructuredErrorContext, &count_errors);
	xmlSetStructuredErrorFunc(NULL, NULL);
}

static void test_parse_file_names_path(void **state)
{
	static const char bad[] = "<domain>\n<name>w</name><devices>\n<hostdev type='pci'>"
				  "<source><address bus='1' slot='0x20' function='0'/></source>"
				  "</hostdev></devices></domain>";
	char path[128], missing[128];
	struct domxml d;

	snprintf(path, sizeof(path), "%s/win10.xml", tmpdir);
	write_file(path, win10_xml, strlen(win10_xml));
	reason_clear();
	assert_int_equal(domxml_parse_file(path, &d), 0);
	assert_string_equal(d.name, "win10");
	assert_int_equal(d.n_hostdevs, 2);
	domxml_free(&d);

	write_file(path, bad, strlen(bad));
	reason_clear();
	assert_int_equal(domxml_parse_file(path, &d), -EINVAL);
	assert_true(str_has_prefix(reason_get(), path));
	assert_reason_has("win10.xml:3: hostdev source address slot '0x20' out of range (0..0x1f)");

	snprintf(missing, sizeof(missing), "%s/absent.xml", tmpdir);
	reason_clear();
	assert_int_equal(domxml_parse_file(missing, &d), -ENOENT);
	assert_reason_has("absent.xml: cannot open");
}

/* The sample domain XMLs shipped in config/ must stay what the parser accepts. */
static void test_shipped_examples_parse(void **state)
{
	static const struct {
		const char *file, *name;
		size_t n;
		int managed;
		unsigned last_fn;
	} ex[] = {
		{ "win10-gpu-audio.xml", "win10", 2, MANAGED_YES, 1 },
		{ "linux-4fn-unmanaged.xml", "linux-gpu", 4, MANAGED_NO, 3 },
		{ "no-hostdev.xml", "debian12", 0, 0, 0 },
	};
	/* __FILE__ is tests/unit/test_domxml.c, relative to the top directory or absolute. */
	char top[512], path[600], *p;
	struct domxml d;

	snprintf(top, sizeof(top), "%s", __FILE__);
	p = strstr(top, "tests/unit/test_domxml.c");
	assert_non_null(p);
	*p = '\0';
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		snprintf(path, sizeof(path), "%sconfig/%s", top, ex[i].file);
		if (access(path, R_OK) < 0)
			skip();	/* not run from the source tree */
		reason_clear();
		if (domxml_parse_file(path, &d) < 0)
			fail_msg("%s: %s", path, reason_get());
		assert_string_equal(d.name, ex[i].name);
		assert_int_equal(d.n_hostdevs, ex[i].n);
		for (size_t j = 0; j < d.n_hostdevs; j++) {
			assert_int_equal(d.hostdevs[j].managed, ex[i].managed);
			assert_bdf(d.hostdevs[j].addr, 0, 1, 0, j);
		}
		if (ex[i].n)
			assert_int_equal(d.hostdevs[ex[i].n - 1].addr.fn, ex[i].last_fn);
		domxml_free(&d);
	}
}

/* ---- parse time: refused in one pass, whatever libxml2 would make of it ---- */

/* CPU time of this process: machine load does not count. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * CPU bounds, about ten times a healthy run with the sanitizers on (print_message shows
 * each run's figure): a refusal by the scan takes under 20 ms, and the document at every
 * limit, which libxml2 parses whole, about 420 ms. Before the scan, 100k attributes on one
 * element took 18.5 s to refuse and 300k took 428 s.
 */
#define REFUSAL_CPU_BOUND_MS 200.0
#define AT_LIMITS_CPU_BOUND_MS 4000.0

static void parse_timed(const char *xml, size_t len, const char *label, int want_r,
			double bound_ms)
{
	struct domxml d;
	double t0, ms;
	int r;

	reason_clear();
	t0 = cpu_ms();
	r = domxml_parse_mem(xml, len, "t.xml", &d);
	ms = cpu_ms() - t0;
	print_message("%s: %zu bytes, %.1f ms CPU\n", label, len, ms);
	assert_int_equal(r, want_r);
	if (r == 0)
		domxml_free(&d);
	if (ms > bound_ms)
		fail_msg("%s took %.1f ms of CPU, over %.0f", label, ms, bound_ms);
}

/* "<domain><name>vm</name><e a0='' a1='' ...  an-1=''/></domain>" */
static char *element_with_attrs(int n, size_t *ret_len)
{
	size_t cap = (size_t)n * 12 + 128, len;
	char *xml = xmalloc(cap);

	len = (size_t)sprintf(xml, "<domain><name>vm</name><e");
	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(xml + len, " a%d=''", i);
	len += (size_t)sprintf(xml + len, "/></domain>");
	*ret_len = len;
	return xml;
}

static void test_300k_attributes_on_one_element_refused_fast(void **state)
{
	size_t len;
	char *xml = element_with_attrs(300000, &len);

	assert_true(len <= DOMXML_MAX_BYTES);
	parse_timed(xml, len, "300k attributes", -EINVAL, REFUSAL_CPU_BOUND_MS);
	assert_string_equal(reason_get(), "t.xml:1: element <e> has more than 256 attributes");
	free(xml);
}

static void test_256_attributes_accepted_257_refused(void **state)
{
	size_t len;
	char *xml = element_with_attrs(256, &len);

	parse_timed(xml, len, "256 attributes", 0, REFUSAL_CPU_BOUND_MS);
	free(xml);
	xml = element_with_attrs(257, &len);
	parse_timed(xml, len, "257 attributes", -EINVAL, REFUSAL_CPU_BOUND_MS);
	assert_string_equal(reason_get(), "t.xml:1: element <e> has more than 256 attributes");
	free(xml);
}

/* The count sees UTF-16 as libxml2 does: its quotes are two bytes each. */
static void test_attributes_counted_in_utf16(void **state)
{
	size_t len, n = 0;
	char *ascii = element_with_attrs(257, &len);
	char *buf = xmalloc(2 * len + 2);

	buf[n++] = (char)0xff;
	buf[n++] = (char)0xfe;
	for (size_t i = 0; i < len; i++) {
		buf[n++] = ascii[i];
		buf[n++] = 0;
	}
	parse_timed(buf, n, "257 attributes, UTF-16", -EINVAL, REFUSAL_CPU_BOUND_MS);
	assert_string_equal(reason_get(), "t.xml:1: element <e> has more than 256 attributes");
	free(buf);
	free(ascii);
}

/* Elements of 256 attributes each, up to 4 MiB: the total is capped too. */
static void test_many_elements_of_256_attributes_refused_fast(void **state)
{
	size_t cap = DOMXML_MAX_BYTES, len;
	char *xml = xmalloc(cap + 1);

	len = (size_t)sprintf(xml, "<domain><name>vm</name>\n");
	while (len + 256 * 12 + 32 < cap) {
		len += (size_t)sprintf(xml + len, "<e");
		for (int i = 0; i < 256; i++)
			len += (size_t)sprintf(xml + len, " a%d=''", i);
		len += (size_t)sprintf(xml + len, "/>\n");
	}
	len += (size_t)sprintf(xml + len, "</domain>");
	parse_timed(xml, len, "elements of 256 attributes", -EINVAL, REFUSAL_CPU_BOUND_MS);
	assert_reason_has("has more than 100000 attributes");
	free(xml);
}

/* The most a document may hold: 99,990 nodes with 256 attributes on one and 100k in
 * all, filled to 4 MiB with a comment. Accepted, and the time it takes is the healthy
 * figure the bound is set from. */
static void test_document_at_every_limit_parses_fast(void **state)
{
	size_t cap = DOMXML_MAX_BYTES, len;
	char *xml = xmalloc(cap + 1);
	int attrs = 256;

	len = (size_t)sprintf(xml, "<domain><name>vm</name>\n<e");
	for (int i = 0; i < 256; i++)
		len += (size_t)sprintf(xml + len, " a%d=''", i);
	len += (size_t)sprintf(xml + len, "/>\n");
	for (int i = 0; i < 99980; i++) {
		int k = attrs + 2 <= 100000 ? 2 : attrs < 100000;

		len += (size_t)sprintf(xml + len, k == 2 ? "<b x='1' y='2'/>" : k ? "<b x='1'/>" : "<b/>");
		attrs += k;
	}
	len += (size_t)sprintf(xml + len, "\n<!-- ");
	memset(xml + len, 'c', cap - len - 20);
	len = cap - 20;
	len += (size_t)sprintf(xml + len, " -->\n</domain>");
	assert_true(len <= DOMXML_MAX_BYTES);
	parse_timed(xml, len, "4 MiB at every limit", 0, AT_LIMITS_CPU_BOUND_MS);
	free(xml);
}

static void test_flat_million_nodes_refused_fast(void **state)
{
	const size_t nodes = 1000000;
	size_t len;
	char *xml = xmalloc(nodes * 4 + 64);

	len = (size_t)sprintf(xml, "<domain><name>vm</name>");
	for (size_t i = 0; i < nodes; i++, len += 4)
		memcpy(xml + len, "<a/>", 4);
	len += (size_t)sprintf(xml + len, "</domain>");
	assert_true(len <= DOMXML_MAX_BYTES);
	parse_timed(xml, len, "1M flat nodes", -EINVAL, REFUSAL_CPU_BOUND_MS);
	assert_string_equal(reason_get(), "t.xml:1: domain XML has more than 100000 nodes");
	free(xml);
}

/* Below the node cap, libxml2's own depth limit answers, as fast. */
static void test_deep_nesting_refused_fast(void **state)
{
	const int depth = 90000;
	size_t len;
	char *xml = xmalloc((size_t)depth * 7 + 128);

	len = (size_t)sprintf(xml, "<domain><name>deep</name>");
	for (int i = 0; i < depth; i++, len += 3)
		memcpy(xml + len, "<a>", 3);
	for (int i = 0; i < depth; i++, len += 4)
		memcpy(xml + len, "</a>", 4);
	len += (size_t)sprintf(xml + len, "</domain>");
	parse_timed(xml, len, "90k levels", -EINVAL, REFUSAL_CPU_BOUND_MS);
	assert_string_equal(reason_get(),
			    "t.xml:1: not well-formed XML: Excessive depth in document: 256");
	free(xml);
}

/* A declared encoding the count cannot read the way libxml2 would is refused. */
static void test_encoding_the_scan_cannot_follow_refused(void **state)
{
	struct domxml d;

	reason_clear();
	assert_int_equal(parse("<?xml version='1.0' encoding='UTF-7'?>\n<domain><name>vm</name>"
			       "</domain>",
			       &d),
			 -EINVAL);
	assert_string_equal(reason_get(), "t.xml:1: encoding 'UTF-7' refused: a domain XML is UTF-8");
	assert_int_equal(parse("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<domain><name>vm</name>"
			       "</domain>",
			       &d),
			 0);
	domxml_free(&d);
}


/* ---- SR-IOV interfaces and nvme disks: what libvirt also gives to vfio-pci ---- */

#define assert_hostdev(h, k, m, l)                                                     \
	do {                                                                           \
		assert_int_equal((h).kind, (k));                                       \
		assert_int_equal((h).managed, (m));                                    \
		assert_int_equal((h).line, (l));                                       \
	} while (0)

/* libvirt's formatdomain example of a VF as the guest's NIC: the guest-side <address>
 * beside <source> is not the host's device. */
static void test_interface_hostdev_vf_is_taken(void **state)
{
	static const char xml[] =
		"<domain type='kvm'><name>sriov</name><devices>\n"		/* 1 */
		"<interface type='hostdev' managed='yes'>\n"			/* 2 */
		"  <mac address='52:54:00:6d:90:02'/>\n"			/* 3 */
		"  <driver name='vfio'/>\n"					/* 4 */
		"  <source>\n"							/* 5 */
		"    <address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x1'/>\n"
		"  </source>\n"							/* 7 */
		"  <vlan><tag id='42'/></vlan>\n"				/* 8 */
		"  <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>\n"
		"</interface>\n"						/* 10 */
		"<interface type='hostdev' managed='no'><source><address type='pci' "
		"domain='0x0000' bus='0x03' slot='0x10' function='0x3'/></source></interface>\n"
		"<interface type='hostdev'><source><address type='pci' "
		"bus='3' slot='16' function='5'/></source></interface>\n"	/* 12 */
		"<interface type='network'><source network='default'/>"
		"<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>"
		"</interface>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 3);
	assert_bdf(d.hostdevs[0].addr, 0, 3, 0x10, 1);
	assert_hostdev(d.hostdevs[0], HOSTDEV_INTERFACE, MANAGED_YES, 2);
	assert_bdf(d.hostdevs[1].addr, 0, 3, 0x10, 3);
	assert_hostdev(d.hostdevs[1], HOSTDEV_INTERFACE, MANAGED_NO, 11);
	assert_bdf(d.hostdevs[2].addr, 0, 3, 0x10, 5);
	assert_hostdev(d.hostdevs[2], HOSTDEV_INTERFACE, MANAGED_ABSENT, 12);
	assert_string_equal(domxml_kind_name(d.hostdevs[0].kind), "interface hostdev");
	domxml_free(&d);
}

static void test_usb_interface_hostdevs_are_ignored(void **state)
{
	static const char xml[] =
		"<domain><name>usbnet</name><devices>\n"
		"<interface type='hostdev' managed='yes'><source><vendor id='0x0b95'/>"
		"<product id='0x1790'/></source></interface>\n"
		"<interface type='hostdev'><source><vendor id='0x0b95'/><product id='0x1790'/>"
		"<address bus='1' device='4'/></source></interface>\n"
		"<interface type='hostdev'><source><address type='usb' bus='1' device='5'/>"
		"</source></interface>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 0);
	domxml_free(&d);
}

/* The devices of libvirt's tests/qemuxmlconfdata/disk-nvme.xml: two namespaces of one
 * controller, an unmanaged controller, one in PCI domain 1 with encryption; then a file
 * disk whose backing store is an nvme namespace. */
static void test_nvme_disk_controllers_are_taken(void **state)
{
	static const char xml[] =
		"<domain type='qemu'><name>QEMUGuest1</name><devices>\n"		/* 1 */
		"<disk type='nvme' device='disk'><driver name='qemu' type='raw'/>\n"	/* 2 */
		"  <source type='pci' managed='yes' namespace='1'>\n"
		"    <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
		"  </source><target dev='vda' bus='virtio'/>\n"
		"  <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>\n"
		"</disk>\n"								/* 7 */
		"<disk type='nvme' device='disk'><driver name='qemu' type='raw'/>\n"	/* 8 */
		"  <source type='pci' managed='yes' namespace='2'>\n"
		"    <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
		"  </source><target dev='vdb' bus='virtio'/></disk>\n"		/* 11 */
		"<disk type='nvme' device='disk'><driver name='qemu' type='raw'/>\n"	/* 12 */
		"  <source type='pci' managed='no' namespace='1'>\n"
		"    <address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
		"  </source><target dev='vdc' bus='virtio'/></disk>\n"		/* 15 */
		"<disk type='nvme' device='disk'><driver name='qemu' type='qcow2' cache='none'/>\n"
		"  <source type='pci' managed='no' namespace='2'>\n"			/* 17 */
		"    <address domain='0x0001' bus='0x02' slot='0x00' function='0x0'/>\n"
		"    <encryption format='luks' engine='qemu'>\n"
		"      <secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/>\n"
		"    </encryption>\n"
		"  </source><target dev='vdd' bus='virtio'/></disk>\n"		/* 22 */
		"<disk type='file' device='disk'><source file='/var/lib/libvirt/images/a.qcow2'/>\n"
		"  <backingStore type='nvme' index='1'><format type='raw'/>\n"	/* 24 */
		"    <source type='pci' namespace='1'><address domain='0x0000' bus='0x05' "
		"slot='0x00' function='0x0'/></source><backingStore/></backingStore>\n"
		"  <target dev='vde' bus='virtio'/></disk>\n"
		"</devices></domain>";
	struct domxml d;

	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 4);
	assert_bdf(d.hostdevs[0].addr, 0, 1, 0, 0);
	assert_hostdev(d.hostdevs[0], HOSTDEV_NVME, MANAGED_YES, 2);
	assert_bdf(d.hostdevs[1].addr, 0, 2, 0, 0);
	assert_hostdev(d.hostdevs[1], HOSTDEV_NVME, MANAGED_NO, 12);
	assert_bdf(d.hostdevs[2].addr, 1, 2, 0, 0);
	assert_hostdev(d.hostdevs[2], HOSTDEV_NVME, MANAGED_NO, 16);
	assert_bdf(d.hostdevs[3].addr, 0, 5, 0, 0);
	assert_hostdev(d.hostdevs[3], HOSTDEV_NVME, MANAGED_ABSENT, 24);
	assert_string_equal(domxml_kind_name(d.hostdevs[0].kind), "nvme disk");
	domxml_free(&d);
}

/* One line each, naming the element, its line and what is wrong. */
static void test_malformed_interface_and_nvme_refused(void **state)
{
	static const struct {
		const char *dev, *reason;
	} bad[] = {
		{"<interface type='hostdev' managed='yes'><mac address='52:54:00:6d:90:02'/>"
		 "</interface>",
		 "t.xml:2: interface hostdev has no <source>"},
		{"<interface type='hostdev'><source/><source/></interface>",
		 "t.xml:2: interface hostdev has more than one <source>"},
		{"<interface type='hostdev'><source/></interface>",
		 "t.xml:2: interface hostdev <source> has no <address>"},
		{"<interface type='hostdev'><source><address bus='3' slot='0x10' function='1'/>"
		 "</source></interface>",
		 "t.xml:2: interface hostdev source address has no type attribute (pci or usb)"},
		{"<interface type='hostdev'><source><address type='isa' iobase='0x505'/>"
		 "</source></interface>",
		 "t.xml:2: interface hostdev source address type 'isa' is not pci or usb"},
		{"<interface type='hostdev'><source><address type='pci' bus='0xZZ' slot='0x10' "
		 "function='1'/></source></interface>",
		 "t.xml:2: interface hostdev source address bus '0xZZ' is not a number "
		 "(0x-prefixed hex or decimal)"},
		{"<interface type='hostdev'><source><address type='pci' bus='3' slot='0x20' "
		 "function='1'/></source></interface>",
		 "t.xml:2: interface hostdev source address slot '0x20' out of range (0..0x1f)"},
		{"<interface type='hostdev'><source><address type='pci' bus='3' slot='0x10'/>"
		 "</source></interface>",
		 "t.xml:2: interface hostdev source address has no function attribute"},
		{"<interface type='hostdev' managed='on'><source><address type='pci' bus='3' "
		 "slot='0x10' function='1'/></source></interface>",
		 "t.xml:2: interface hostdev managed='on' is not yes or no"},
		{"<disk type='nvme' device='disk'><target dev='vda' bus='virtio'/></disk>",
		 "t.xml:2: nvme disk has no <source>"},
		{"<disk type='nvme'><source namespace='1'><address bus='1' slot='0' "
		 "function='0'/></source></disk>",
		 "t.xml:2: nvme disk <source> has no type='pci'"},
		{"<disk type='nvme'><source type='unix' path='/tmp/nvme.sock'/></disk>",
		 "t.xml:2: nvme disk <source> type 'unix' is not pci"},
		{"<disk type='nvme'><source type='pci' namespace='1'/></disk>",
		 "t.xml:2: nvme disk <source> has no <address>"},
		{"<disk type='nvme'><source type='pci' namespace='1'><address bus='1' slot='0' "
		 "function='0'/><address bus='2' slot='0' function='0'/></source></disk>",
		 "t.xml:2: nvme disk <source> has more than one <address>"},
		{"<disk type='nvme'><source type='pci' namespace='1'><address bus='010' "
		 "slot='0' function='0'/></source></disk>",
		 "t.xml:2: nvme disk source address bus '010' has a leading zero (octal to "
		 "libvirt); write it in hex with 0x"},
		{"<disk type='nvme'><source type='pci' namespace='1'><address domain='0x10000' "
		 "bus='1' slot='0' function='0'/></source></disk>",
		 "t.xml:2: nvme disk source address domain '0x10000' out of range (0..0xffff)"},
		{"<disk type='nvme'><source type='pci' managed='true' namespace='1'><address "
		 "bus='1' slot='0' function='0'/></source></disk>",
		 "t.xml:2: nvme disk managed='true' is not yes or no"},
		{"<disk type='file'><source file='/a.qcow2'/><backingStore type='nvme'>"
		 "<source type='pci' namespace='1'><address bus='1' slot='0' function='9'/>"
		 "</source></backingStore></disk>",
		 "t.xml:2: nvme disk source address function '9' out of range (0..0x7)"},
	};
	char xml[1024];
	struct domxml d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>\n%s\n</devices></domain>",
			 bad[i].dev);
		if (parse(xml, &d) != -EINVAL)
			fail_msg("accepted: %s", bad[i].dev);
		if (strcmp(reason_get(), bad[i].reason) != 0)
			fail_msg("%s: reason \"%s\", expected \"%s\"", bad[i].dev, reason_get(),
				 bad[i].reason);
	}
}

static void test_one_device_in_two_elements_refused(void **state)
{
	static const char hostdev[] = "<hostdev type='pci'><source><address bus='3' slot='0x10' "
				      "function='1'/></source></hostdev>\n";
	static const char iface[] = "<interface type='hostdev'><source><address type='pci' "
				    "bus='3' slot='0x10' function='1'/></source></interface>\n";
	static const char nvme[] = "<disk type='nvme'><source type='pci' namespace='1'>"
				   "<address bus='3' slot='0x10' function='1'/></source></disk>\n";
	char xml[1024];
	struct domxml d;

	snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>\n%s%s</devices></domain>",
		 hostdev, iface);
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:3: interface hostdev 0000:03:10.1 is also the hostdev at line 2");

	snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>\n%s%s</devices></domain>",
		 iface, iface);
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:3: interface hostdev 0000:03:10.1 listed twice (first at line 2)");

	snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>\n%s%s</devices></domain>",
		 nvme, hostdev);
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:3: hostdev 0000:03:10.1 is also the nvme disk at line 2");

	/* Two namespaces of one controller: one device to hand over. */
	snprintf(xml, sizeof(xml), "<domain><name>a</name><devices>\n%s%s</devices></domain>",
		 nvme, nvme);
	assert_int_equal(parse(xml, &d), 0);
	assert_int_equal(d.n_hostdevs, 1);
	domxml_free(&d);
}

static void test_65_devices_of_any_kind_refused(void **state)
{
	size_t cap = 66 * 160 + 256, len = 0;
	char *xml = xmalloc(cap);
	struct domxml d;

	len += (size_t)snprintf(xml + len, cap - len, "<domain><name>m</name><devices>\n");
	for (int i = 0; i < 64; i++)
		len += (size_t)snprintf(xml + len, cap - len,
					"<hostdev type='pci'><source><address bus='%d' slot='0' "
					"function='%d'/></source></hostdev>\n",
					1 + i / 8, i % 8);
	len += (size_t)snprintf(xml + len, cap - len,
				"<disk type='nvme'><source type='pci' namespace='1'><address "
				"bus='0x20' slot='0' function='0'/></source></disk>\n"
				"</devices></domain>");
	assert_int_equal(parse(xml, &d), -EINVAL);
	assert_string_equal(reason_get(),
			    "t.xml:66: more than 64 PCI devices to hand over (nvme disk)");
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libvirt_output_gives_name_uuid_and_hostdevs),
		cmocka_unit_test(test_decimal_addresses_are_accepted),
		cmocka_unit_test(test_missing_domain_attribute_means_domain_zero),
		cmocka_unit_test(test_managed_yes_no_and_absent),
		cmocka_unit_test(test_non_pci_hostdevs_are_ignored),
		cmocka_unit_test(test_no_hostdev_gives_empty_list),
		cmocka_unit_test(test_hostdevs_in_every_devices_element_count),
		cmocka_unit_test(test_64_hostdevs_accepted_65_refused),
		cmocka_unit_test(test_line_numbers_past_65535),
		cmocka_unit_test(test_unclosed_tag_names_file_and_line),
		cmocka_unit_test(test_empty_and_garbage_input_refused),
		cmocka_unit_test(test_wrong_root_refused),
		cmocka_unit_test(test_missing_empty_or_second_name_refused),
		cmocka_unit_test(test_overlong_name_refused),
		cmocka_unit_test(test_bad_uuid_refused),
		cmocka_unit_test(test_bad_address_values_name_the_attribute),
		cmocka_unit_test(test_bad_managed_value_names_line),
		cmocka_unit_test(test_malformed_pci_hostdev_refused),
		cmocka_unit_test(test_duplicate_address_refused),
		cmocka_unit_test(test_billion_laughs_refused_at_doctype),
		cmocka_unit_test(test_external_dtd_refused),
		cmocka_unit_test(test_external_entity_is_never_read),
		cmocka_unit_test(test_doctype_refused_in_utf16),
		cmocka_unit_test_setup_teardown(test_xinclude_is_not_processed, make_tmpdir,
						remove_tmpdir),
		cmocka_unit_test(test_input_over_4mib_from_pipe_refused),
		cmocka_unit_test(test_input_of_exactly_4mib_from_pipe_accepted),
		cmocka_unit_test(test_deep_nesting_refused),
		cmocka_unit_test(test_nul_bytes_refused),
		cmocka_unit_test(test_comments_and_blanks_after_root_accepted),
		cmocka_unit_test(test_utf16_document_accepted),
		cmocka_unit_test(test_huge_attribute_is_cut_in_reason),
		cmocka_unit_test_setup_teardown(test_libxml2_prints_nothing, make_tmpdir,
						remove_tmpdir),
		cmocka_unit_test(test_caller_error_handler_is_restored),
		cmocka_unit_test_setup_teardown(test_parse_file_names_path, make_tmpdir,
						remove_tmpdir),
		cmocka_unit_test(test_shipped_examples_parse),
		cmocka_unit_test(test_300k_attributes_on_one_element_refused_fast),
		cmocka_unit_test(test_256_attributes_accepted_257_refused),
		cmocka_unit_test(test_attributes_counted_in_utf16),
		cmocka_unit_test(test_many_elements_of_256_attributes_refused_fast),
		cmocka_unit_test(test_document_at_every_limit_parses_fast),
		cmocka_unit_test(test_flat_million_nodes_refused_fast),
		cmocka_unit_test(test_deep_nesting_refused_fast),
		cmocka_unit_test(test_encoding_the_scan_cannot_follow_refused),
		cmocka_unit_test(test_interface_hostdev_vf_is_taken),
		cmocka_unit_test(test_usb_interface_hostdevs_are_ignored),
		cmocka_unit_test(test_nvme_disk_controllers_are_taken),
		cmocka_unit_test(test_malformed_interface_and_nvme_refused),
		cmocka_unit_test(test_one_device_in_two_elements_refused),
		cmocka_unit_test(test_65_devices_of_any_kind_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Faults below the engine on its write path, on the fake kernel: a full or failing /run
 * while the journal is written or flushed (at every write and every flush), a read-only
 * /run, and EBUSY, ENODEV and EINVAL from sysfs writes (at every kernel operation, and
 * during release). Each ends with the tree as it was before prepare, or with what could
 * not be undone recorded in the journal and restored by recover, and one line naming the
 * file or device and the error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bdf.h"
#include "base/log.h"
#include "front/engine.h"
#include "input/config.h"
#include "input/domxml.h"
#include "kernel/kernel.h"
#include "steps/journal.h"
#include "fixture.h"
#include "fakekernel.h"
#include "topologies.h"

static struct vm_config cfg;
static struct domxml dom;

/* --- The journal's calls, failing on demand --- */

static struct {
	int writes, syncs;    /* calls so far */
	int fail_write_from;  /* this write and every later one fail (0: none) */
	int fail_sync_from;   /* the same for fsync and fdatasync */
	int err;	      /* with this errno */
	bool read_only;	      /* opens that write or create fail with EROFS ... */
	const char *ro_match; /* ... for paths containing this (NULL: all) */
} io;

static int io_open(const char *path, int flags, mode_t mode)
{
	if (io.read_only && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)) &&
	    (!io.ro_match || strstr(path, io.ro_match))) {
		errno = EROFS;
		return -1;
	}
	return open(path, flags, mode);
}

static ssize_t io_write(int fd, const void *buf, size_t n)
{
	if (++io.writes >= io.fail_write_from && io.fail_write_from) {
		errno = io.err;
		return -1;
	}
	return write(fd, buf, n);
}

static int io_sync(int fd)
{
	if (++io.syncs >= io.fail_sync_from && io.fail_sync_from) {
		errno = io.err;
		return -1;
	}
	return fdatasync(fd);
}

static const struct journal_io failing_io = {io_open, io_write, io_sync};

static void io_reset(void)
{
	memset(&io, 0, sizeof(io));
}

static int setup(void **state)
{
	reason_clear();
	log_setup(0, LOG_ERR);
	config_defaults(&cfg);
	/* Nothing waits for it in a passing run; long enough for a loaded machine. */
	cfg.timeout_ms = 10000;
	config_set_required_owner(getuid());
	memset(&dom, 0, sizeof(dom));
	io_reset();
	journal_io_set(&failing_io);
	return 0;
}

static int teardown(void **state)
{
	journal_io_set(NULL);
	domxml_free(&dom);
	reason_clear();
	fx_teardown();
	return 0;
}

/* --- Fixtures --- */

/* The domain XML libvirt would pass, with one hostdev. */
static void xml_with(const char *vm, const char *bdf)
{
	char buf[1024];
	struct bdf b;
	int len;

	assert_int_equal(bdf_parse(bdf, &b), 0);
	domxml_free(&dom);
	len = snprintf(buf, sizeof(buf),
		       "<domain type='kvm'><name>%s</name><devices>"
		       "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
		       "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>"
		       "</source></hostdev></devices></domain>",
		       vm, b.domain, b.bus, b.dev, b.fn);
	assert_int_equal(domxml_parse_mem(buf, (size_t)len, "test.xml", &dom), 0);
}

/* A topology with vm opted in for its GPU, vfio-pci loaded up front (its appearance is
 * not part of what is compared). */
static void host(int topology, const char *vm)
{
	char rel[256];

	if (topology == 1)
		fx_topology1();
	else
		fx_topology2();
	snprintf(rel, sizeof(rel), "etc/vfio-handoff/vm.d/%s.conf", vm);
	fx_write(rel, "timeout = 10\n");
	assert_int_equal(chmod(fx_path(rel), 0644), 0);
	assert_int_equal(kernel_module_load("vfio-pci", ""), 0);
	xml_with(vm, topology == 1 ? T1_GPU : T2_GPU);
}

static bool has_journal(const char *vm)
{
	return fx_exists(fx_fmt("run/vfio-handoff/%s.journal", vm));
}

/* The reason is one line that names what (a file, a device) and the error's text. */
static void assert_reason_names(const char *what, int err)
{
	const char *r = reason_get();

	if (!strstr(r, what) || !strstr(r, strerror(err)) || strchr(r, '\n'))
		fail_msg("the reason \"%s\" is not one line naming %s and \"%s\"", r, what,
			 strerror(err));
}

/* Journal writes and flushes of a clean prepare of vm on the topology. */
static void count_journal_calls(int topology, int *ret_writes, int *ret_syncs)
{
	host(topology, "linux");
	io_reset();
	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	*ret_writes = io.writes;
	*ret_syncs = io.syncs;
	io_reset();
	fx_teardown();
}

/* --- A full or failing /run --- */

/* The disk stays full: every journal write from the k-th on fails, for each k. */
static void test_enospc_at_every_journal_write_restores_the_tree(void **state)
{
	int writes, syncs;

	count_journal_calls(1, &writes, &syncs);
	assert_true(writes >= 6);
	for (int k = 1; k <= writes; k++) {
		host(1, "linux");
		char *before = fx_snapshot();

		io_reset();
		io.fail_write_from = k;
		io.err = ENOSPC;
		reason_clear();
		assert_true(engine_prepare("linux", &cfg, &dom, false, NULL) < 0);
		assert_reason_names("run/vfio-handoff/linux.journal", ENOSPC);
		assert_false(has_journal("linux"));
		fx_assert_same_tree(before);
		free(before);
		fx_teardown();
	}
}

/* The device under /run fails: every flush from the k-th on fails with EIO. */
static void test_eio_at_every_journal_flush_restores_the_tree(void **state)
{
	int writes, syncs;

	count_journal_calls(1, &writes, &syncs);
	assert_true(syncs >= 4);
	for (int k = 1; k <= syncs; k++) {
		host(1, "linux");
		char *before = fx_snapshot();

		io_reset();
		io.fail_sync_from = k;
		io.err = EIO;
		reason_clear();
		assert_true(engine_prepare("linux", &cfg, &dom, false, NULL) < 0);
		assert_reason_names("run/vfio-handoff/linux.journal", EIO);
		assert_false(has_journal("linux"));
		fx_assert_same_tree(before);
		free(before);
		fx_teardown();
	}
}

/* The disk fills while the last step is journaled and the rollback cannot undo the
 * GPU's override: the journal can be neither updated nor removed, so it still records
 * every applied step, and recover, once there is room, restores the tree. */
static void test_journal_full_with_an_undo_failing_is_left_for_recover(void **state)
{
	struct journal_data d;
	int writes, syncs;

	count_journal_calls(1, &writes, &syncs);
	host(1, "linux");
	char *before = fx_snapshot();

	io.fail_write_from = writes; /* the last step's entry, and every write after it */
	io.err = ENOSPC;
	fx_fail_on(fx_fmt("sys/bus/pci/devices/%s/driver_override=", T1_GPU), EIO);
	reason_clear();
	assert_true(engine_prepare("linux", &cfg, &dom, false, NULL) < 0);
	assert_reason_names("run/vfio-handoff/linux.journal", ENOSPC);
	assert_true(has_journal("linux"));
	assert_int_equal(journal_read("linux", &d), 0);
	/* Every applied step: all but the last, whose entry could not be written (the
	 * journal's writes: its header, one per device, one per step). */
	assert_int_equal(d.n_steps, (size_t)writes - 1 - d.n_devs - 1);
	journal_data_free(&d);
	assert_string_equal(fx_driver_of(T1_GPU), "");

	io_reset();
	fx_fail_clear();
	reason_clear();
	assert_int_equal(engine_recover(NULL), 0);
	assert_false(has_journal("linux"));
	fx_assert_same_tree(before);
	free(before);
}

/* --- A read-only /run --- */

static void test_read_only_run_refuses_prepare_naming_the_lock(void **state)
{
	host(1, "linux");
	char *before = fx_snapshot();

	io.read_only = true;
	reason_clear();
	assert_true(engine_prepare("linux", &cfg, &dom, false, NULL) < 0);
	assert_reason_names("run/vfio-handoff/lock", EROFS);
	assert_false(has_journal("linux"));
	fx_assert_same_tree(before);
	free(before);
}

static void test_read_only_journal_refuses_prepare_before_any_change(void **state)
{
	host(1, "linux");
	char *before = fx_snapshot();
	int ops = fx_writes();

	io.read_only = true;
	io.ro_match = ".journal";
	reason_clear();
	assert_true(engine_prepare("linux", &cfg, &dom, false, NULL) < 0);
	assert_reason_names("run/vfio-handoff/linux.journal", EROFS);
	assert_int_equal(fx_writes(), ops);
	assert_false(has_journal("linux"));
	fx_assert_same_tree(before);
	free(before);
}

/* /run remounted read-only while the VM runs: release cannot take the lock, so it
 * changes nothing and the journal stays; once /run is writable, release gives back. */
static void test_read_only_run_at_release_keeps_devices_and_journal(void **state)
{
	host(1, "linux");
	char *before = fx_snapshot();

	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	char *held = fx_snapshot();

	io.read_only = true;
	reason_clear();
	assert_true(engine_release("linux") < 0);
	assert_reason_names("run/vfio-handoff/lock", EROFS);
	assert_true(has_journal("linux"));
	assert_string_equal(fx_driver_of(T1_GPU), "vfio-pci");
	fx_assert_same_tree(held);

	io_reset();
	reason_clear();
	assert_int_equal(engine_release("linux"), 0);
	assert_false(has_journal("linux"));
	fx_assert_same_tree(before);
	free(held);
	free(before);
}

/* --- sysfs writes that fail --- */

/* EBUSY, ENODEV and EINVAL as the kernel's store() returns them, at every kernel
 * operation of the prepare in turn. */
static void test_sysfs_errors_at_every_kernel_op_restore_the_tree(void **state)
{
	static const int errs[] = {EBUSY, ENODEV, EINVAL};
	int total;

	host(1, "linux");
	int base = fx_writes();
	assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
	total = fx_writes() - base;
	assert_true(total >= 4);
	fx_teardown();

	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++)
		for (int k = 1; k <= total; k++) {
			host(1, "linux");
			char *before = fx_snapshot();

			fx_fail_write_at(fx_writes() + k, errs[e]);
			reason_clear();
			assert_true(engine_prepare("linux", &cfg, &dom, false, NULL) < 0);
			if (!strstr(reason_get(), strerror(errs[e])) || strchr(reason_get(), '\n'))
				fail_msg(
				    "kernel op %d of %d, %s: the reason \"%s\" is not one line "
				    "with the error",
				    k, total, strerror(errs[e]), reason_get());
			if (!strstr(reason_get(), "0000:") && !strstr(reason_get(), "module"))
				fail_msg("kernel op %d of %d: the reason \"%s\" names no device", k,
					 total, reason_get());
			assert_false(has_journal("linux"));
			fx_assert_same_tree(before);
			free(before);
			fx_teardown();
		}
}

/* The bind back to the native driver fails during release (ENODEV, EBUSY): that step
 * stays in the journal, and recover finishes once the kernel lets it. */
static void test_sysfs_error_during_release_is_kept_for_recover(void **state)
{
	static const int errs[] = {ENODEV, EBUSY};
	struct journal_data d;

	for (size_t e = 0; e < sizeof(errs) / sizeof(errs[0]); e++) {
		host(1, "linux");
		char *before = fx_snapshot();

		assert_int_equal(engine_prepare("linux", &cfg, &dom, false, NULL), 0);
		fx_fail_on(fx_fmt("sys/bus/pci/drivers/vfio-pci/unbind=%s", T1_GPU), errs[e]);
		reason_clear();
		assert_true(engine_release("linux") < 0);
		assert_true(has_journal("linux"));
		assert_int_equal(journal_read("linux", &d), 0);
		assert_true(d.n_steps >= 1);
		journal_data_free(&d);
		assert_string_equal(fx_driver_of(T1_GPU), "vfio-pci");

		fx_fail_clear();
		reason_clear();
		assert_int_equal(engine_recover(NULL), 0);
		assert_false(has_journal("linux"));
		fx_assert_same_tree(before);
		free(before);
		fx_teardown();
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_enospc_at_every_journal_write_restores_the_tree),
	    T(test_eio_at_every_journal_flush_restores_the_tree),
	    T(test_journal_full_with_an_undo_failing_is_left_for_recover),
	    T(test_read_only_run_refuses_prepare_naming_the_lock),
	    T(test_read_only_journal_refuses_prepare_before_any_change),
	    T(test_read_only_run_at_release_keeps_devices_and_journal),
	    T(test_sysfs_errors_at_every_kernel_op_restore_the_tree),
	    T(test_sysfs_error_during_release_is_kept_for_recover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

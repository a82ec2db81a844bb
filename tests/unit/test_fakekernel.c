/* Tests of the test support: the fake kernel must change fixture trees the way Linux
 * changes /sys, the topologies must read as the kernel shows them, and the fake systemctl
 * must keep its state in the tree, or every engine test built on them proves nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <pci/pci.h>

#include "fakekernel.h"
#include "fixture.h"
#include "base/root.h"
#include "kernel/kernel.h"
#include "topologies.h"

/* The engine's view: a rooted path, written through the seam. */
static int kwrite(const char *rel, const char *val)
{
	char p[VH_PATH_MAX];

	assert_int_equal(path_join(p, sizeof(p), "%s", rel), 0);
	return kernel_write(p, val, 1000);
}

static void hand_to_vfio(const char *bdf)
{
	char drv[64];

	snprintf(drv, sizeof(drv), "%s", fx_driver_of(bdf));
	assert_int_equal(kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", bdf), "vfio-pci"),
			 0);
	if (drv[0])
		assert_int_equal(kwrite(fx_fmt("/sys/bus/pci/drivers/%s/unbind", drv), bdf), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers_probe", bdf), 0);
}

static void give_back(const char *bdf)
{
	assert_int_equal(kwrite("/sys/bus/pci/drivers/vfio-pci/unbind", bdf), 0);
	assert_int_equal(kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", bdf), "\n"), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers_probe", bdf), 0);
}

/* Runs ROOT/usr/bin/systemctl with an empty environment, as the engine does; stdout in
 * out. Returns the exit status. */
static int systemctl(char *out, size_t n, const char *a1, const char *a2, const char *a3,
		     const char *a4, const char *a5)
{
	char *const argv[] = {"systemctl", (char *)a1, (char *)a2, (char *)a3,
			      (char *)a4,  (char *)a5, NULL};
	char *const envp[] = {NULL};
	char path[PATH_MAX];
	size_t len = 0;
	int pfd[2], status;
	ssize_t r;
	pid_t pid;

	snprintf(path, sizeof(path), "%s", fx_path("usr/bin/systemctl"));
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(pfd[1], 1);
		dup2(null, 2);
		dup2(null, 0);
		close(pfd[0]);
		execve(path, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	while (len < n - 1 && (r = read(pfd[0], out + len, n - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	while (len && out[len - 1] == '\n')
		out[--len] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_override_unbind_probe_lands_on_vfio_pci(void **state)
{
	fx_topology1();
	assert_int_equal(kernel_module_load("vfio-pci", "disable_idle_d3=1"), 0);
	assert_true(fx_exists("sys/bus/pci/drivers/vfio-pci/bind"));
	assert_true(fx_exists("sys/module/vfio_pci/initstate"));
	assert_string_equal(fx_module_options("vfio_pci"), "disable_idle_d3=1");

	hand_to_vfio(T1_GPU);
	assert_string_equal(fx_driver_of(T1_GPU), "vfio-pci");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/driver_override", T1_GPU)),
			    "vfio-pci");
	assert_true(fx_exists(fx_fmt("sys/bus/pci/drivers/vfio-pci/%s", T1_GPU)));
	assert_false(fx_exists(fx_fmt("sys/bus/pci/drivers/nvidia/%s", T1_GPU)));
	assert_true(fx_exists("dev/vfio/13"));
	/* What nvidia_drm made for the card went with the driver. */
	assert_false(fx_exists("sys/class/drm/card1"));
	assert_false(fx_exists("dev/dri/card1"));
	assert_true(fx_exists("sys/class/drm/card0"));

	hand_to_vfio(T1_AUDIO);
	give_back(T1_GPU);
	/* The group node stays while the audio function is still on vfio-pci. */
	assert_true(fx_exists("dev/vfio/13"));
	give_back(T1_AUDIO);
	assert_false(fx_exists("dev/vfio/13"));
	assert_string_equal(fx_driver_of(T1_GPU), "nvidia");
	assert_string_equal(fx_driver_of(T1_AUDIO), "snd_hda_intel");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/driver_override", T1_GPU)),
			    "(null)");
	assert_true(fx_exists("sys/class/drm/card1/dev"));
	assert_true(fx_exists("dev/dri/card1"));
}

static void test_bind_refused_with_foreign_override(void **state)
{
	fx_topology1();
	assert_int_equal(kernel_module_load("vfio_pci", NULL), 0);
	/* Bound: -EBUSY even for the driver the override names. */
	assert_int_equal(
	    kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", T1_GPU), "vfio-pci\n"), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/vfio-pci/bind", T1_GPU), -EBUSY);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", T1_GPU), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/bind", T1_GPU), -ENODEV);
	assert_string_equal(fx_driver_of(T1_GPU), "");
	assert_int_equal(kwrite("/sys/bus/pci/drivers/vfio-pci/bind", T1_GPU), 0);
	assert_string_equal(fx_driver_of(T1_GPU), "vfio-pci");

	/* Without an override vfio-pci matches nothing; the native driver does. */
	assert_int_equal(kwrite("/sys/bus/pci/drivers/snd_hda_intel/unbind", T1_AUDIO), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/vfio-pci/bind", T1_AUDIO), -ENODEV);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/snd_hda_intel/bind", T1_AUDIO), 0);
	assert_string_equal(fx_driver_of(T1_AUDIO), "snd_hda_intel");
	/* Unbinding from a driver the device is not on, or a device that does not exist. */
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", T1_AUDIO), -ENODEV);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", "0000:0f:00.0"), -ENODEV);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/new_id", "10de 2786"), -EOPNOTSUPP);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nosuch/bind", T1_AUDIO), -ENOENT);
	assert_int_equal(kwrite(fx_fmt("/sys/bus/pci/devices/%s/vendor", T1_AUDIO), "1"), -EACCES);
}

static void test_drivers_probe_with_nothing_to_bind_leaves_it_unbound(void **state)
{
	fx_topology1();
	/* vfio-pci is not loaded: the override matches no driver present. */
	assert_int_equal(
	    kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", T1_AUDIO), "vfio-pci"), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/snd_hda_intel/unbind", T1_AUDIO), 0);
	assert_int_equal(kwrite("/sys/bus/pci/drivers_probe", T1_AUDIO), 0);
	assert_string_equal(fx_driver_of(T1_AUDIO), "");
	assert_false(fx_exists(fx_fmt("sys/bus/pci/devices/%s/driver", T1_AUDIO)));
	assert_int_equal(kwrite("/sys/bus/pci/drivers_probe", "0000:0f:00.0"), -ENODEV);

	/* Loading the module probes it onto vfio-pci, as the kernel does. */
	assert_int_equal(kernel_module_load("vfio-pci", NULL), 0);
	assert_string_equal(fx_driver_of(T1_AUDIO), "vfio-pci");
	/* A device unbound with no override and no native driver stays unbound. */
	fx_topology2();
	assert_int_equal(kwrite("/sys/bus/pci/drivers_probe", T2_UCSI), 0);
	assert_string_equal(fx_driver_of(T2_UCSI), "");
}

static void test_override_cleared_by_empty_line_reads_null(void **state)
{
	fx_topology1();
	assert_int_equal(
	    kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", T1_GPU), "pci-stub\n"), 0);
	assert_string_equal(fx_cat(fx_fmt("sys/devices/pci0000:00/%s/driver_override", T1_GPU)),
			    "pci-stub");
	assert_int_equal(kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", T1_GPU), "\n"),
			 0);
	assert_string_equal(fx_cat(fx_fmt("sys/devices/pci0000:00/%s/driver_override", T1_GPU)),
			    "(null)");
	assert_int_equal(kwrite(fx_fmt("/sys/bus/pci/devices/%s/driver_override", T1_GPU), ""), 0);
	assert_string_equal(fx_cat(fx_fmt("sys/devices/pci0000:00/%s/driver_override", T1_GPU)),
			    "(null)");
}

static void test_module_remove_unbinds_its_devices_and_load_brings_them_back(void **state)
{
	char *before, *after;

	fx_topology2();
	before = fx_snapshot();
	assert_int_equal(fx_refcnt("drm_kms_helper"), 2);
	assert_int_equal(kernel_module_remove("nouveau", 1000), 0);
	assert_string_equal(fx_driver_of(T2_GPU), "");
	assert_false(fx_exists("sys/bus/pci/drivers/nouveau"));
	assert_false(fx_exists("sys/module/nouveau"));
	assert_false(fx_exists("sys/module/drm_kms_helper/holders/nouveau"));
	assert_int_equal(fx_refcnt("drm_kms_helper"), 1);
	assert_false(fx_exists("sys/class/drm/card1"));
	assert_int_equal(kernel_module_remove("nouveau", 1000), -ENOENT);

	assert_int_equal(kernel_module_load("nouveau", NULL), 0);
	assert_string_equal(fx_driver_of(T2_GPU), "nouveau");
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	free(before);
	free(after);

	/* xhci_pci drives the chipset controller too: rmmod takes both. */
	assert_int_equal(kernel_module_remove("xhci_pci", 1000), 0);
	assert_string_equal(fx_driver_of(T2_USB), "");
	assert_string_equal(fx_driver_of("0000:00:14.0"), "");
	assert_int_equal(fx_refcnt("xhci_hcd"), 0);
}

static void test_busy_module_refused(void **state)
{
	fx_topology5();
	/* Holders and open files count, as lsmod's "used by" shows. */
	assert_int_equal(fx_refcnt("nvidia"), 6);
	assert_int_equal(fx_refcnt("nvidia_modeset"), 2);
	assert_int_equal(fx_refcnt("nvidia_drm"), 1);
	assert_int_equal(kernel_module_remove("nvidia", 1000), -EBUSY);
	assert_int_equal(kernel_module_remove("nvidia_drm", 1000), -EBUSY);
	assert_true(fx_exists("sys/module/nvidia_drm/initstate"));
	assert_string_equal(fx_driver_of(T5_GPU), "nvidia");

	fx_proc_exit(T5_XORG_PID);
	assert_int_equal(fx_refcnt("nvidia_drm"), 0);
	fx_module_stuck("nvidia_drm");
	assert_int_equal(kernel_module_remove("nvidia_drm", 1000), -EBUSY);
	assert_true(fx_exists("sys/module/nvidia_drm/initstate"));
	fx_rm(".fake/stuck/nvidia_drm");
	assert_int_equal(kernel_module_remove("nvidia_drm", 1000), 0);
	assert_int_equal(fx_refcnt("nvidia_modeset"), 0);
	assert_int_equal(kernel_module_remove("nvidia_modeset", 1000), 0);
	assert_int_equal(kernel_module_remove("nvidia_uvm", 1000), 0);
	/* nvidia-persistenced still holds /dev/nvidia0 and /dev/nvidiactl. */
	assert_int_equal(fx_refcnt("nvidia"), 2);
	assert_int_equal(kernel_module_remove("nvidia", 1000), -EBUSY);

	/* Builtin and absent modules: what delete_module(2) answers. */
	fx_module_builtin("efifb");
	assert_int_equal(kernel_module_remove("efifb", 1000), -ENOENT);
	assert_int_equal(kernel_module_remove("nosuch", 1000), -ENOENT);
	assert_int_equal(kernel_module_load("efifb", NULL), 0);
	assert_int_equal(kernel_module_load("nosuch", NULL), -ENOENT);
}

static void test_unbind_blocks_while_nvidia_nodes_are_held(void **state)
{
	char *before, *after, p[VH_PATH_MAX], buf[64];

	fx_topology5();
	before = fx_snapshot();
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", T5_GPU), -ETIMEDOUT);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	free(after);
	/* Wedged: the rest of the run does not touch it. */
	assert_true(kernel_is_wedged(T5_GPU));
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", T5_GPU), -EDEADLK);
	/* The pending remove keeps device_lock: a driver_override read waits too. */
	kernel_wedged_clear();
	assert_int_equal(path_join(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", T5_GPU),
			 0);
	assert_int_equal(kernel_read(p, buf, sizeof(buf), 200), -ETIMEDOUT);
	kernel_wedged_clear();
	/* The remove completes by itself when the last holder closes. */
	fx_proc_exit(T5_XORG_PID);
	fx_proc_exit(T5_PERSISTENCED_PID);
	fk_settle();
	assert_string_equal(fx_driver_of(T5_GPU), "");
	assert_int_equal(kernel_read(p, buf, sizeof(buf), 1000), 0);
	free(before);
}

static void test_injected_failure_changes_nothing(void **state)
{
	char *before, *after;
	int n;

	fx_topology1();
	before = fx_snapshot();
	n = fx_writes();
	fx_fail_write_at(n + 1, EIO);
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", T1_GPU), -EIO);
	assert_int_equal(fx_writes(), n + 1);
	fx_fail_on("module_remove=nvidia_uvm", EBUSY);
	assert_int_equal(kernel_module_remove("nvidia-uvm", 1000), -EBUSY);
	fx_fail_on("*/drivers_probe=0000:01:00.1", ENOMEM);
	assert_int_equal(kwrite("/sys/bus/pci/drivers_probe", T1_AUDIO), -ENOMEM);
	fx_fail_on("module_load=*", EPERM);
	assert_int_equal(kernel_module_load("vfio-pci", NULL), -EPERM);
	assert_int_equal(fx_writes(), n + 4);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	free(after);

	/* Cleared, the same write works: the failures above were the injection's. */
	fx_fail_clear();
	assert_int_equal(kwrite("/sys/bus/pci/drivers/nvidia/unbind", T1_GPU), 0);
	after = fx_snapshot();
	assert_string_not_equal(before, after);
	free(after);
	free(before);
}

static void test_fake_kernel_never_acts_outside_its_root(void **state)
{
	fx_setup();
	assert_int_equal(kernel_write("/sys/bus/pci/drivers_probe", "0000:00:00.0", 0), -EPERM);
	assert_int_equal(kernel_write("/tmp/not-the-root/x", "1", 0), -EPERM);
	assert_int_equal(kernel_write(fx_fmt("%s/../x", fx_root()), "1", 0), -EPERM);
	assert_int_equal(fx_writes(), 0);
	/* With the real root set, even a fixture-shaped path is refused. */
	root_set("/");
	assert_int_equal(kernel_module_remove("nvidia", 0), -EPERM);
	assert_int_equal(kernel_module_load("vfio-pci", NULL), -EPERM);
	root_set(fx_root());
}

static void test_vtcon_follows_framebuffers_and_graphics_mode(void **state)
{
	fx_topology5();
	/* The display manager keeps the VT in graphics mode: writes succeed, nothing moves. */
	assert_int_equal(kwrite("/sys/class/vtconsole/vtcon1/bind", "0\n"), 0);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "1");
	fx_vt_graphics(false);
	assert_int_equal(kwrite("/sys/class/vtconsole/vtcon1/bind", "0\n"), 0);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "0");
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon0/bind"), "1");
	/* The system console cannot be unbound. */
	assert_int_equal(kwrite("/sys/class/vtconsole/vtcon0/bind", "0\n"), 0);
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon0/bind"), "1");

	/* efifb goes: fb0 and with it the frame buffer console. */
	assert_int_equal(
	    kwrite("/sys/bus/platform/drivers/efi-framebuffer/unbind", "efi-framebuffer.0"), 0);
	assert_false(fx_exists("sys/class/graphics/fb0"));
	assert_false(fx_exists("dev/fb0"));
	assert_false(fx_exists("sys/class/vtconsole/vtcon1"));
	assert_false(fx_exists("sys/devices/platform/efi-framebuffer.0/driver"));
	assert_int_equal(
	    kwrite("/sys/bus/platform/drivers/efi-framebuffer/unbind", "efi-framebuffer.0"),
	    -ENODEV);
	/* It comes back, and fbcon takes the consoles over again. */
	assert_int_equal(
	    kwrite("/sys/bus/platform/drivers/efi-framebuffer/bind", "efi-framebuffer.0"), 0);
	assert_string_equal(fx_cat("sys/class/graphics/fb0/name"), "EFI VGA");
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "1");
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/name"), "(M) frame buffer device");
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon0/bind"), "0");
}

static void test_fbcon_holds_the_drm_driver_until_unbound(void **state)
{
	fx_topology4();
	/* fbcon on i915drmfb and gnome-shell's card0 and renderD128. */
	assert_int_equal(fx_refcnt("i915"), 3);
	fx_proc_exit(FX_PID_BASE + 40);
	assert_int_equal(fx_refcnt("i915"), 1);
	assert_int_equal(kernel_module_remove("i915", 1000), -EBUSY);
	fx_vt_graphics(false);
	assert_int_equal(kwrite("/sys/class/vtconsole/vtcon1/bind", "0"), 0);
	assert_int_equal(fx_refcnt("i915"), 0);
	assert_int_equal(kernel_module_remove("i915", 1000), 0);
	assert_false(fx_exists("sys/class/graphics/fb0"));
	assert_false(fx_exists("sys/class/vtconsole/vtcon1"));
	assert_int_equal(fx_refcnt("drm"), 1);
	assert_int_equal(kernel_module_load("i915", NULL), 0);
	assert_string_equal(fx_driver_of(T4_IGPU), "i915");
	assert_string_equal(fx_cat("sys/class/graphics/fb0/name"), "i915drmfb");
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/bind"), "1");
	assert_int_equal(fx_refcnt("i915"), 1);
}

static void test_fake_systemctl_keeps_units_in_the_tree(void **state)
{
	char out[512];

	fx_topology5();
	assert_int_equal(
	    systemctl(out, sizeof(out), "is-active", "display-manager.service", NULL, NULL, NULL),
	    0);
	assert_string_equal(out, "active");
	assert_int_equal(
	    systemctl(out, sizeof(out), "show", "-p", "Id", "--value", "display-manager.service"),
	    0);
	assert_string_equal(out, "gdm.service");
	assert_int_equal(fx_refcnt("nvidia_drm"), 1);

	assert_int_equal(
	    systemctl(out, sizeof(out), "stop", "display-manager.service", NULL, NULL, NULL), 0);
	assert_string_equal(fx_unit_state("gdm.service"), "inactive");
	assert_false(fx_exists(fx_fmt("proc/%d", T5_XORG_PID)));
	assert_false(fx_exists(".fake/vt-graphics"));
	/* Xorg's files are closed: the refcnts say so without any kernel op. */
	assert_int_equal(fx_refcnt("nvidia_drm"), 0);
	assert_int_equal(fx_refcnt("nvidia"), 4);
	assert_int_equal(systemctl(out, sizeof(out), "is-active", "gdm", NULL, NULL, NULL), 3);
	assert_string_equal(out, "inactive");
	assert_int_equal(
	    systemctl(out, sizeof(out), "show", "-p", "ActiveState", "--value", "gdm.service"), 0);
	assert_string_equal(out, "inactive");

	assert_int_equal(
	    systemctl(out, sizeof(out), "start", "display-manager.service", NULL, NULL, NULL), 0);
	assert_true(fx_exists(fx_fmt("proc/%d/fd/3", T5_XORG_PID)));
	assert_true(fx_exists(".fake/vt-graphics"));
	assert_int_equal(fx_refcnt("nvidia_drm"), 1);

	fx_unit_refuse_stop("nvidia-persistenced.service");
	assert_int_equal(
	    systemctl(out, sizeof(out), "stop", "nvidia-persistenced.service", NULL, NULL, NULL),
	    1);
	assert_string_equal(fx_unit_state("nvidia-persistenced.service"), "active");
	assert_int_equal(systemctl(out, sizeof(out), "stop", "nosuch.service", NULL, NULL, NULL),
			 5);
	assert_int_equal(systemctl(out, sizeof(out), "frobnicate", "gdm", NULL, NULL, NULL), 1);

	{
		char *log = fx_systemctl_log();

		assert_non_null(strstr(log, "stop display-manager.service\n"));
		assert_non_null(strstr(log, "start display-manager.service\n"));
		free(log);
	}
}

/* The whole hand-off of topology 5 done by hand, then undone: the tree must be exactly
 * as before. */
static void test_round_trip_by_hand_restores_the_tree(void **state)
{
	static const char *const mods[] = {"nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"};
	char out[512], *before, *during, *after;

	fx_topology5();
	/* vfio-pci stays loaded once loaded; load it before the reference snapshot. */
	assert_int_equal(kernel_module_load("vfio-pci", NULL), 0);
	before = fx_snapshot();

	assert_int_equal(
	    systemctl(out, sizeof(out), "stop", "display-manager.service", NULL, NULL, NULL), 0);
	assert_int_equal(
	    systemctl(out, sizeof(out), "stop", "nvidia-persistenced.service", NULL, NULL, NULL),
	    0);
	assert_int_equal(kwrite("/sys/class/vtconsole/vtcon1/bind", "0\n"), 0);
	assert_int_equal(
	    kwrite("/sys/bus/platform/drivers/efi-framebuffer/unbind", "efi-framebuffer.0"), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(kernel_module_remove(mods[i], 1000), 0);
	hand_to_vfio(T5_GPU);
	hand_to_vfio(T5_AUDIO);
	assert_string_equal(fx_driver_of(T5_GPU), "vfio-pci");
	assert_string_equal(fx_driver_of(T5_AUDIO), "vfio-pci");
	assert_string_equal(fx_driver_of(T5_BRIDGE), "pcieport");
	assert_true(fx_exists("dev/vfio/1"));
	during = fx_snapshot();
	assert_string_not_equal(before, during);

	give_back(T5_AUDIO);
	give_back(T5_GPU);
	for (size_t i = 4; i-- > 0;)
		assert_int_equal(kernel_module_load(mods[i], i == 0 ? "modeset=1" : NULL), 0);
	assert_int_equal(
	    kwrite("/sys/bus/platform/drivers/efi-framebuffer/bind", "efi-framebuffer.0"), 0);
	assert_int_equal(kwrite("/sys/class/vtconsole/vtcon1/bind", "1\n"), 0);
	assert_int_equal(
	    systemctl(out, sizeof(out), "start", "nvidia-persistenced.service", NULL, NULL, NULL),
	    0);
	assert_int_equal(
	    systemctl(out, sizeof(out), "start", "display-manager.service", NULL, NULL, NULL), 0);
	after = fx_snapshot();
	assert_int_equal(fx_snapshot_diff(before, after), 0);
	assert_string_equal(fx_module_options("nvidia_drm"), "modeset=1");
	free(before);
	free(during);
	free(after);
}

static void test_forked_child_shares_the_fake_kernel(void **state)
{
	pid_t pid;
	int status;

	fx_topology1();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(kwrite("/sys/bus/pci/drivers/snd_hda_intel/unbind", T1_AUDIO) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_string_equal(fx_driver_of(T1_AUDIO), "");
	assert_int_equal(fx_writes(), 1);
}

static void assert_link(const char *rel, const char *target)
{
	char t[PATH_MAX];

	assert_int_equal(fx_readlink(rel, t, sizeof(t)), 0);
	assert_string_equal(t, target);
}

static void assert_resolves_to(const char *rel, const char *real_rel)
{
	char a[PATH_MAX], b[PATH_MAX];

	assert_non_null(realpath(fx_path(rel), a));
	assert_non_null(realpath(fx_path(real_rel), b));
	assert_string_equal(a, b);
}

static void test_topologies_read_as_the_kernel_shows_them(void **state)
{
	fx_topology1();
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/vendor", T1_GPU)), "0x10de");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/device", T1_GPU)), "0x2786");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/class", T1_GPU)), "0x030000");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/boot_vga", T1_GPU)), "0");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/boot_vga", T1_IGPU)), "1");
	assert_false(fx_exists(fx_fmt("sys/bus/pci/devices/%s/boot_vga", T1_AUDIO)));
	assert_link(fx_fmt("sys/devices/pci0000:00/%s/iommu_group", T1_GPU),
		    "../../../kernel/iommu_groups/13");
	assert_link(fx_fmt("sys/devices/pci0000:00/%s/driver", T1_GPU),
		    "../../../bus/pci/drivers/nvidia");
	assert_link(fx_fmt("sys/bus/pci/drivers/nvidia/%s", T1_GPU),
		    "../../../../devices/pci0000:00/0000:01:00.0");
	assert_link("sys/bus/pci/drivers/nvidia/module", "../../../../module/nvidia");
	assert_false(fx_exists("sys/bus/pci/drivers/pcieport/module"));
	assert_link("sys/kernel/iommu_groups/13/devices/0000:01:00.1",
		    "../../../../devices/pci0000:00/0000:01:00.1");
	assert_resolves_to("sys/kernel/iommu_groups/13/devices/0000:01:00.0",
			   "sys/devices/pci0000:00/0000:01:00.0");
	assert_resolves_to("sys/bus/pci/devices/0000:01:00.0/iommu_group",
			   "sys/kernel/iommu_groups/13");
	assert_resolves_to("sys/bus/pci/devices/0000:01:00.0/driver/module", "sys/module/nvidia");
	assert_resolves_to("sys/module/nvidia/holders/nvidia_modeset", "sys/module/nvidia_modeset");
	assert_resolves_to("sys/class/drm/card0/device", "sys/devices/pci0000:00/0000:10:00.0");
	assert_resolves_to("sys/class/graphics/fb0/device", "sys/devices/pci0000:00/0000:10:00.0");
	assert_resolves_to("sys/class/sound/controlC1/device",
			   "sys/devices/pci0000:00/0000:01:00.1/sound/card1");
	assert_string_equal(fx_cat("sys/class/drm/card0/dev"), "226:0");
	assert_string_equal(fx_cat("sys/class/drm/card0-DP-1/status"), "connected");
	assert_non_null(strstr(fx_cat("sys/class/drm/card1/uevent"), "DEVNAME=dri/card1"));
	assert_string_equal(fx_cat("sys/module/nvidia/initstate"), "live");
	assert_string_equal(fx_cat("sys/module/nvidia_drm/parameters/modeset"), "Y");
	assert_int_equal(fx_refcnt("nvidia"), 2);
	assert_int_equal(fx_refcnt("amdgpu"), 3);
	assert_string_equal(fx_unit_state("display-manager.service"), "active");
	assert_link("etc/systemd/system/display-manager.service",
		    "/lib/systemd/system/gdm.service");

	{
		/* Holders are found by path: the fd link leads to the node's inode. */
		struct stat a, b;

		assert_int_equal(stat(fx_path(fx_fmt("proc/%d/fd/3", FX_PID_BASE + 10)), &a), 0);
		assert_int_equal(stat(fx_path("dev/dri/card0"), &b), 0);
		assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
		assert_string_equal(fx_cat(fx_fmt("proc/%d/comm", FX_PID_BASE + 10)),
				    "gnome-shell");
	}

	fx_topology2();
	assert_string_equal(fx_driver_of(T2_BRIDGE), "pcieport");
	assert_string_equal(fx_driver_of(T2_USB), "xhci_hcd");
	assert_link("sys/bus/pci/drivers/xhci_hcd/module", "../../../../module/xhci_pci");
	assert_string_equal(fx_driver_of(T2_UCSI), "");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/class", T2_UCSI)), "0x0c8000");
	assert_int_equal(fx_refcnt("xhci_hcd"), 1);

	fx_topology3();
	assert_link(fx_fmt("sys/bus/pci/devices/%s/iommu_group", T3_GPU),
		    "../../../kernel/iommu_groups/18");
	assert_link(fx_fmt("sys/bus/pci/devices/%s/iommu_group", T3_AUDIO),
		    "../../../kernel/iommu_groups/19");
	assert_string_equal(fx_driver_of(T3_HOST_GPU), "amdgpu");
	assert_string_equal(fx_driver_of("0000:02:00.0"), "pcieport");

	fx_topology4();
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon1/name"), "(M) frame buffer device");
	assert_string_equal(fx_cat("sys/class/vtconsole/vtcon0/name"), "(S) dummy device");
	assert_string_equal(fx_cat("sys/class/graphics/fb0/name"), "i915drmfb");
	assert_false(fx_exists("sys/bus/platform/devices/efi-framebuffer.0"));
	assert_string_equal(fx_cat("sys/class/drm/card0-eDP-1/status"), "connected");

	fx_topology5();
	assert_link("sys/bus/platform/devices/efi-framebuffer.0",
		    "../../../devices/platform/efi-framebuffer.0");
	assert_link("sys/devices/platform/efi-framebuffer.0/driver",
		    "../../../bus/platform/drivers/efi-framebuffer");
	assert_resolves_to("sys/class/graphics/fb0/device",
			   "sys/devices/platform/efi-framebuffer.0");
	assert_string_equal(fx_cat(fx_fmt("proc/%d/comm", T5_PERSISTENCED_PID)), "nvidia-persiste");
	assert_string_equal(fx_cat(fx_fmt("proc/%d/cgroup", T5_PERSISTENCED_PID)),
			    "0::/system.slice/nvidia-persistenced.service");
	assert_string_equal(fx_unit_state("nvidia-persistenced.service"), "active");
}

static void test_bad_cases_show_mount_and_route(void **state)
{
	char mounts[4096];

	fx_topology_bad_nvme();
	assert_link(fx_fmt("sys/bus/pci/devices/%s/iommu_group", TBAD_NVME),
		    "../../../kernel/iommu_groups/13");
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/class", TBAD_NVME)), "0x010802");
	assert_int_equal(fx_read("proc/mounts", mounts, sizeof(mounts)), 0);
	assert_non_null(strstr(mounts, "/dev/nvme0n1p2 / ext4 "));
	assert_non_null(strstr(fx_cat("proc/self/mountinfo"), " 259:2 / / "));
	assert_resolves_to("sys/class/block/nvme0n1p2",
			   "sys/devices/pci0000:00/0000:02:00.0/nvme/nvme0/nvme0n1/nvme0n1p2");
	assert_string_equal(fx_cat("sys/class/block/nvme0n1p2/dev"), "259:2");
	assert_true(fx_exists("dev/nvme0n1p2"));

	fx_topology_bad_nic();
	assert_resolves_to("sys/class/net/eth0/device", "sys/devices/pci0000:00/0000:03:00.0");
	assert_non_null(strstr(fx_cat("proc/net/route"), "eth0\t00000000\t0101A8C0\t0003"));
	assert_string_equal(fx_cat(fx_fmt("sys/bus/pci/devices/%s/class", TBAD_NIC)), "0x020000");
	/* Unbinding the NIC takes its interface away, like the kernel. */
	assert_int_equal(kwrite("/sys/bus/pci/drivers/e1000e/unbind", TBAD_NIC), 0);
	assert_false(fx_exists("sys/class/net/eth0"));
}

static void pci_die(char *msg, ...) __attribute__((noreturn));
static void pci_die(char *msg, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	fail_msg("libpci: %s", buf);
	abort();
}

static void pci_quiet(char *msg, ...)
{
}

/* libpci's sysfs backend, pointed at the fixture, must see what the kernel would show. */
static void test_libpci_reads_the_fixture(void **state)
{
	struct pci_access *a;
	struct pci_dev *d;
	int n = 0, seen = 0;

	fx_topology2();
	a = pci_alloc();
	a->error = pci_die;
	a->warning = pci_quiet;
	a->debug = pci_quiet;
	a->method = PCI_ACCESS_SYS_BUS_PCI;
	pci_set_param(a, "sysfs.path", (char *)fx_path("sys/bus/pci"));
	pci_init(a);
	pci_scan_bus(a);
	for (d = a->devices; d; d = d->next, n++) {
		const char *grp, *drv;

		pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_IOMMU_GROUP |
				     PCI_FILL_DRIVER | PCI_FILL_IRQ | PCI_FILL_BASES);
		grp = pci_get_string_property(d, PCI_FILL_IOMMU_GROUP);
		drv = pci_get_string_property(d, PCI_FILL_DRIVER);
		if (d->bus == 1 && d->dev == 0 && d->func == 2) {
			assert_int_equal(d->vendor_id, 0x10de);
			assert_int_equal(d->device_id, 0x1ad6);
			assert_int_equal(d->device_class, 0x0c03);
			assert_string_equal(grp, "1");
			assert_string_equal(drv, "xhci_hcd");
			seen++;
		}
		if (d->bus == 1 && d->dev == 0 && d->func == 0) {
			assert_int_equal(pci_read_byte(d, PCI_HEADER_TYPE), 0x80);
			assert_int_equal(pci_read_word(d, PCI_VENDOR_ID), 0x10de);
			assert_int_equal(pci_read_byte(d, PCI_CLASS_DEVICE + 1), 0x03);
			seen++;
		}
		if (d->bus == 1 && d->dev == 0 && d->func == 3) {
			assert_null(drv);
			seen++;
		}
		if (d->bus == 0 && d->dev == 1 && d->func == 0) {
			assert_int_equal(pci_read_byte(d, PCI_HEADER_TYPE) & 0x7f, 1);
			assert_int_equal(d->device_class, 0x0604);
			seen++;
		}
	}
	pci_cleanup(a);
	assert_int_equal(n, 10);
	assert_int_equal(seen, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_cmocka_setup, fx_cmocka_teardown)
	    T(test_override_unbind_probe_lands_on_vfio_pci),
	    T(test_bind_refused_with_foreign_override),
	    T(test_drivers_probe_with_nothing_to_bind_leaves_it_unbound),
	    T(test_override_cleared_by_empty_line_reads_null),
	    T(test_module_remove_unbinds_its_devices_and_load_brings_them_back),
	    T(test_busy_module_refused),
	    T(test_unbind_blocks_while_nvidia_nodes_are_held),
	    T(test_injected_failure_changes_nothing),
	    T(test_fake_kernel_never_acts_outside_its_root),
	    T(test_vtcon_follows_framebuffers_and_graphics_mode),
	    T(test_fbcon_holds_the_drm_driver_until_unbound),
	    T(test_fake_systemctl_keeps_units_in_the_tree),
	    T(test_round_trip_by_hand_restores_the_tree),
	    T(test_forked_child_shares_the_fake_kernel),
	    T(test_topologies_read_as_the_kernel_shows_them),
	    T(test_bad_cases_show_mount_and_route),
	    T(test_libpci_reads_the_fixture),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

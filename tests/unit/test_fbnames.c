/* Unit tests of the boot framebuffer names: the platform devices Linux 6.1 and 6.12 create
 * for the firmware's framebuffer are recognised, other platform devices are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "facts/framebuffers.h"

static void test_firmware_framebuffers_are_boot_fbs(void **state)
{
	assert_true(framebuffers_is_boot_fb("efi-framebuffer.0"));
	assert_true(framebuffers_is_boot_fb("simple-framebuffer.0"));
	assert_true(framebuffers_is_boot_fb("vesa-framebuffer.0"));
}

/* Linux 6.12 names the legacy VGA framebuffer (SeaBIOS, no UEFI GOP) vga-framebuffer.0. */
static void test_vga_framebuffer_of_linux_6_12_is_a_boot_fb(void **state)
{
	assert_true(framebuffers_is_boot_fb("vga-framebuffer.0"));
}

static void test_other_platform_devices_are_not_boot_fbs(void **state)
{
	assert_false(framebuffers_is_boot_fb("vga-framebuffer"));
	assert_false(framebuffers_is_boot_fb("vga-framebufferx.0"));
	assert_false(framebuffers_is_boot_fb("serial8250"));
	assert_false(framebuffers_is_boot_fb("i8042"));
	assert_false(framebuffers_is_boot_fb(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_firmware_framebuffers_are_boot_fbs),
	    cmocka_unit_test(test_vga_framebuffer_of_linux_6_12_is_a_boot_fb),
	    cmocka_unit_test(test_other_platform_devices_are_not_boot_fbs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

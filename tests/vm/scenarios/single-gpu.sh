# Single-GPU desktop under UEFI: systemd is PID 1 and a display manager unit holds the card
# and the frame buffer; prepare stops it and frees consoles, framebuffer and modules; release
# brings the unit, the console and every driver back.
# vm-firmware: ovmf
# vm-init: systemd
# vm-timeout: 300
vh_wait_host
vh_wait 20 [ -e /run/fake-dm.ready ] || vh_die "the display manager did not start"
vh_check "display-manager.service is active" \
	[ "$(systemctl is-active display-manager.service)" = active ]
vh_info "card holders: $(vh_holders /dev/dri/card0 /dev/fb0 | tr '\n' ' ')"
vh_snapshot $VH_WORK/before
vh_show $VH_WORK/before
vh_optin vm1 "host-display = auto"
vh_xml vm1 $VH_WORK/vm1.xml $VH_GPU

export VFIO_HANDOFF_VERBOSE=1
vh_hook prepare vm1 prepare begin $VH_WORK/vm1.xml
vh_expect_stdout_empty prepare
vh_expect_rc0 "prepare begin" || vh_die "prepare failed: $(tail -1 $VH_WORK/prepare.err)"
vh_assert_on_vfio
st=$(systemctl is-active display-manager.service)
[ "$st" = inactive ] || vh_fail "display-manager.service is $st after prepare"
vh_fbcon_bound && vh_fail "fbcon is still bound"
h=$(vh_holders /dev/dri/card0 /dev/fb0)
[ -z "$h" ] || vh_fail "still holding the card: $h"
grep -q '^bochs ' /proc/modules && vh_fail "bochs is still loaded"
vh_snapshot $VH_WORK/during
vh_info "state while vm1 holds the GPU:"
vh_show $VH_WORK/during

vh_hook release vm1 release end $VH_WORK/vm1.xml
vh_expect_rc0 "release end"
vh_wait 20 vh_host_ready || vh_fail "the host did not get its devices back: $(vh_drivers)"
vh_wait 20 [ -e /run/fake-dm.ready ] || vh_fail "the display manager did not come back"
vh_check "display-manager.service is active again" \
	[ "$(systemctl is-active display-manager.service)" = active ]
v=$(vh_fbcon) && vh_ok "fbcon back on the GPU: ${v##*/} '$(cat $v/name)' bind=$(cat $v/bind)"
vh_snapshot $VH_WORK/after
# The kernel may renumber the DRM card across the hand-off; what matters is that it is back.
sed -i 's/card[0-9]*/card/' $VH_WORK/before $VH_WORK/after
vh_same $VH_WORK/before $VH_WORK/after "release"
vh_expect_nothing_held

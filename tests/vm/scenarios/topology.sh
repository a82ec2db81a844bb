# The emulated host is what the other scenarios assume: the GPU slot's three functions in one
# IOMMU group on bochs-drm, snd_hda_intel and xhci_hcd, the VGA the boot display with fbcon.
vh_wait_host
vh_info "GPU $VH_GPU, functions $VH_FUNCS, group $VH_GROUP"
set -- $VH_FUNCS
[ $# = 3 ] || vh_fail "the GPU slot has $# functions, expected 3"
for f in $VH_FUNCS; do
	[ "$(vh_group $f)" = "$VH_GROUP" ] || vh_fail "$f is in group $(vh_group $f), not $VH_GROUP"
done
n=$(ls /sys/kernel/iommu_groups/$VH_GROUP/devices | wc -l)
[ "$n" = 3 ] || vh_fail "group $VH_GROUP has $n devices, expected 3"
vh_assert_driver ${VH_GPU%.*}.0 bochs-drm && vh_assert_driver ${VH_GPU%.*}.1 snd_hda_intel &&
	vh_assert_driver ${VH_GPU%.*}.2 xhci_hcd && vh_ok "drivers: $(vh_drivers)"
vh_check "boot_vga=1 on $VH_GPU" [ "$(cat $PCI/$VH_GPU/boot_vga)" = 1 ]
vh_check "fbcon bound ($(cat $(vh_fbcon)/name))" vh_fbcon_bound
fbdev=$(basename "$(readlink /sys/class/graphics/fb0/device)")
vh_check "fb0 is the VGA's ($fbdev)" [ "$fbdev" = "$VH_GPU" ]
vh_check "the HDA codec probed" [ -e /proc/asound/card0/codec#0 ]
vh_snapshot $VH_WORK/state
vh_show $VH_WORK/state

# The guest side of `make demo`: a single-GPU UEFI desktop (systemd, a display manager on the
# only GPU) hands its GPU to vfio-pci through the hook and gets it back, narrated.
VM=vm1
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show_state() {
	local f d v
	for f in $VH_FUNCS; do
		printf '    %s  %-28s driver: %s\n' $f "$(vh_kind $f)" "$(vh_driver $f)"
	done
	v=$(vh_fbcon) && printf '    console:          %s, %s\n' "$(cat $v/name)" \
		"$([ "$(cat $v/bind)" = 1 ] && echo bound || echo unbound)" ||
		printf '    console:          no frame buffer console\n'
	printf '    display manager:  %s %s\n' "$(systemctl is-active display-manager.service)" \
		"$(vh_holders /dev/dri/card0 /dev/dri/card1 /dev/fb0 |
		while read -r p c; do printf '(pid %s, %s, holds the card)' $p $c; done)"
	printf '    modules:          %s\n' "$(for m in bochs snd_hda_intel xhci_pci vfio_pci; do
		grep -q "^$m " /proc/modules && printf '%s ' $m; done)"
	d=$(ls /dev/vfio 2>/dev/null | grep -v '^vfio$' | tr '\n' ' ')
	printf '    /dev/vfio:        %s\n' "${d:-(no group)}"
}
vh_kind() {
	case $(cat $PCI/$1/class) in
	0x0300*) echo "VGA (the only display)" ;;
	0x0403*) echo "HDA audio" ;;
	0x0c03*) echo "USB 3 controller" ;;
	*) cat $PCI/$1/class ;;
	esac
}

vh_wait_host
vh_wait 20 [ -e /run/fake-dm.ready ] || vh_die "the display manager did not start"
vh_snapshot $VH_WORK/before

say "1. The host before: its only GPU drives the desktop and the console"
show_state
vh_info "IOMMU group $VH_GROUP holds all three functions: they can only be handed over together."

vh_optin $VM
vh_xml $VM $VH_WORK/$VM.xml $VH_GPU
say "2. VM '$VM' opts in (/etc/vfio-handoff/vm.d/$VM.conf) and lists only the VGA function:"
grep -A2 '<hostdev' $VH_WORK/$VM.xml | sed 's/^/    /'
say "   vfio-handoff plan $VM --xml $VM.xml  (what prepare will do, nothing changed yet)"
$VH_CLI plan $VM --xml $VH_WORK/$VM.xml 2>&1 | sed -n '/steps:/,$p' | sed 's/^/  /'

say "3. libvirt starts the VM: /etc/libvirt/hooks/qemu $VM prepare begin - < $VM.xml"
VFIO_HANDOFF_VERBOSE=1 $VH_HOOK $VM prepare begin - <$VH_WORK/$VM.xml 2>&1 |
	sed 's/^vfio-handoff: /    /'
say "   The host while the VM owns the GPU:"
show_state
$VH_BIN/vfio-check $VH_GROUP $VH_FUNCS 2>&1 | sed 's/^vfio-check: /    \/dev\/vfio\/'"$VH_GROUP"': /'
say "   vfio-handoff status"
$VH_CLI status 2>&1 | sed 's/^/    /'

say "4. The VM stops: /etc/libvirt/hooks/qemu $VM release end - < $VM.xml"
VFIO_HANDOFF_VERBOSE=1 $VH_HOOK $VM release end - <$VH_WORK/$VM.xml 2>&1 |
	sed 's/^vfio-handoff: /    /'
vh_wait 20 vh_host_ready
vh_wait 20 [ -e /run/fake-dm.ready ]
say "   The host after the give-back:"
show_state
vh_snapshot $VH_WORK/after
sed -i 's/card[0-9]*/card/' $VH_WORK/before $VH_WORK/after
if diff -u $VH_WORK/before $VH_WORK/after >$VH_WORK/diff; then
	say "   Every driver, console, module and the display manager are back as they were."
else
	vh_fail "the host differs from before:"
	sed 's/^/    /' $VH_WORK/diff
fi

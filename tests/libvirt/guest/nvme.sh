# The nvme disk scenario of the real-libvirt tier, sourced by scenarios.sh once the hook is
# installed and libvirtd runs: a VM with a <disk type='nvme'> on the emulated host's NVMe
# controller (tests/libvirt/run.sh puts it in its own IOMMU group), opted in, started and
# destroyed with virsh. libvirt hands the controller to vfio-pci for QEMU's userspace NVMe
# driver; the hook must hand it over first and give it back to nvme, namespaces and all.

# The controller: the first function of class 0x010802 (NVM Express).
NVME=
for d in /sys/bus/pci/devices/*; do
	read -r c <$d/class
	[ "$c" = 0x010802 ] && { NVME=${d##*/}; break; }
done
# nvme_snap FILE: what a hand-off of the controller's group changes, one fact a line.
nvme_snap() {
	local d l b g
	{
		for d in /sys/bus/pci/devices/$NVME/iommu_group/devices/*; do
			read -r l <$d/driver_override
			echo "pci ${d##*/} driver=$(drv pci ${d##*/}) override=$l"
		done
		g=$(readlink /sys/bus/pci/devices/$NVME/iommu_group)
		echo "group ${g##*/}"
		for b in /sys/class/block/*; do
			case "$(readlink -f $b)" in */$NVME/*) echo "block ${b##*/} dev=$([ -b /dev/${b##*/} ] && echo yes)" ;; esac
		done
		for d in /dev/vfio/*; do [ -e "$d" ] && [ "${d##*/}" != vfio ] && echo "vfio ${d##*/}"; done
		for d in /run/vfio-handoff/*.journal; do [ -e "$d" ] && echo "journal ${d##*/}"; done
	} | LC_ALL=C sort >"$1"
}
nvme_group() { local g; g=$(readlink /sys/bus/pci/devices/$NVME/iommu_group); echo "${g##*/}"; }
nvme_blocks() { grep -c '^block .* dev=yes$' "$1"; }

section "opted in, an nvme disk on the emulated NVMe controller, managed='yes'"
if [ -z "$NVME" ]; then
	vh_fail "the emulated host has no NVMe controller"
else
	NG=$(nvme_group)
	info "NVMe controller $NVME ($(drv pci $NVME)), IOMMU group $NG:" \
		$(ls /sys/bus/pci/devices/$NVME/iommu_group/devices)
	IFS=':.' read -r d bus sl fn <<<"$NVME"
	vh_optin nvme-vm "display-manager = none"
	dom_xml nvme-vm yes | awk -v d="$d" -v b="$bus" -v s="$sl" -v f="$fn" '
		/<\/devices>/ {
			print "    <disk type=\x27nvme\x27 device=\x27disk\x27>"
			print "      <driver name=\x27qemu\x27 type=\x27raw\x27/>"
			print "      <source type=\x27pci\x27 managed=\x27yes\x27 namespace=\x271\x27>"
			printf "        <address domain=\x270x%s\x27 bus=\x270x%s\x27 slot=\x270x%s\x27 function=\x270x%s\x27/>\n", d, b, s, f
			print "      </source>"
			print "      <target dev=\x27vda\x27 bus=\x27virtio\x27/>"
			print "    </disk>"
		}
		{ print }' >$W/nvme-vm.xml
	virsh define $W/nvme-vm.xml >$W/define-nvme-vm.log 2>&1 ||
		{ show "" $W/define-nvme-vm.log; vh_die "virsh define nvme-vm"; }
	nvme_snap $W/nvme.before
	show "" $W/nvme.before
	check "the controller is on nvme with its namespace's block device before" \
		eval '[ "$(drv pci $NVME)" = nvme ] && [ "$(nvme_blocks $W/nvme.before)" -ge 1 ]'
	vstart nvme-vm
	check "virsh start nvme-vm" [ $RC -eq 0 ]
	check "the controller is on vfio-pci ($(drv pci $NVME))" [ "$(drv pci $NVME)" = vfio-pci ]
	check "nvme-vm is running" [ "$(domstate nvme-vm)" = running ]
	check "nvme-vm's QEMU holds /dev/vfio/$NG" \
		eval 'p=$(qemu_pid nvme-vm) && ls -l /proc/$p/fd 2>/dev/null | grep -q " /dev/vfio/$NG\$"'
	check "the journal /run/vfio-handoff/nvme-vm.journal exists" \
		[ -e /run/vfio-handoff/nvme-vm.journal ]
	vdestroy nvme-vm
	check "virsh destroy nvme-vm" [ $RC -eq 0 ]
	vh_wait 10 no_journal
	# The namespace comes back once nvme has probed the controller again (asynchronous).
	vh_wait 10 eval '[ "$(drv pci $NVME)" = nvme ] && nvme_snap $W/nvme.after &&
		[ "$(nvme_blocks $W/nvme.after)" = "$(nvme_blocks $W/nvme.before)" ]'
	nvme_snap $W/nvme.after
	same $W/nvme.before $W/nvme.after "nvme-vm destroyed (controller on nvme, block devices back)"
	check "no journal left" no_journal
fi

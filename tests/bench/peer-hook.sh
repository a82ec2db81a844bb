#!/bin/bash
# The benchmark's peer: a libvirt hook written the way the popular single-GPU guides and the
# copies users post write theirs (start.sh / revert.sh behind a qemu dispatcher): stop the
# display manager, echo into vtconsole and framebuffer sysfs files, a fixed sleep "to avoid
# a race condition", modprobe -r of a fixed module list, then detach the functions by echo
# into sysfs (virsh nodedev-detach in the guides; a hook must not call libvirt, and there is
# no libvirtd here). No checks, no record; errors go by. Run inside the test guest only.
#   peer-hook VM OPERATION SUB-OPERATION EXTRA
# The addresses and modules come from kvm.conf beside it, as in the guides:
#   PEER_DEVS="0000:01:00.0 ..." PEER_MODULES="bochs snd_hda_intel"
#   PEER_SLEEP_PREPARE=2 PEER_SLEEP_RELEASE=2   (seconds; the guides use 2, 3, 5 or 10)
set -x
. "$(dirname "$0")/kvm.conf"

start() {
	# Stop display manager
	systemctl stop display-manager.service

	# Unbind VTconsoles
	echo 0 >/sys/class/vtconsole/vtcon0/bind
	echo 0 >/sys/class/vtconsole/vtcon1/bind

	# Unbind EFI-Framebuffer
	echo efi-framebuffer.0 >/sys/bus/platform/drivers/efi-framebuffer/unbind

	# Avoid a race condition by waiting a couple of seconds
	sleep "$PEER_SLEEP_PREPARE"

	# Unload the GPU drivers
	for m in $PEER_MODULES; do
		modprobe -r "$m"
	done

	# Detach the GPU's functions from the host
	for d in $PEER_DEVS; do
		echo vfio-pci >/sys/bus/pci/devices/$d/driver_override
		[ -e /sys/bus/pci/devices/$d/driver ] &&
			echo $d >/sys/bus/pci/devices/$d/driver/unbind
	done

	# Load VFIO kernel modules
	modprobe vfio
	modprobe vfio_pci
	modprobe vfio_iommu_type1

	for d in $PEER_DEVS; do
		echo $d >/sys/bus/pci/drivers_probe
	done
}

revert() {
	# Re-attach the GPU's functions to the host
	for d in $PEER_DEVS; do
		echo $d >/sys/bus/pci/drivers/vfio-pci/unbind
		echo >/sys/bus/pci/devices/$d/driver_override
	done

	sleep "$PEER_SLEEP_RELEASE"

	# Unload VFIO, reload the GPU drivers
	modprobe -r vfio_pci
	for m in $PEER_MODULES; do
		modprobe "$m"
	done
	for d in $PEER_DEVS; do
		echo $d >/sys/bus/pci/drivers_probe
	done

	# Rebind VT consoles and the framebuffer
	echo 1 >/sys/class/vtconsole/vtcon0/bind
	echo 1 >/sys/class/vtconsole/vtcon1/bind
	echo efi-framebuffer.0 >/sys/bus/platform/drivers/efi-framebuffer/bind

	# Restart Display Manager
	systemctl start display-manager.service
}

case "$2/$3" in
prepare/begin) start ;;
release/end) revert ;;
esac

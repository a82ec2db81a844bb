# The real-libvirt tier's userlands (sourced by run.sh after tests/vm/lib/host.sh): "host",
# the machine's own /usr and /etc (Debian 12: libvirt 9.0), or "trixie", a Debian 13 root
# (libvirt 11.3) built once with mmdebstrap and kept outside the checkout, so the next run
# reuses it. Sets LV_ROOT ("" for the host) and LV_USERLAND_DESC.
# shellcheck shell=bash

# What the guest runs from the Debian 13 root: the daemons and client, the QEMU they start,
# the libraries our programs link (built on the host, they run against these), and the
# tools the guest's init and scenarios use.
LV_TRIXIE_PACKAGES="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
	kmod procps busybox-static libxml2 libpci3 libkmod2 pci.ids bash"

# Where built userlands are kept: VH_USERLAND_CACHE, else /var/cache/vfio-handoff for root,
# else $XDG_CACHE_HOME/vfio-handoff.
lv_userland_cache() {
	if [ -n "${VH_USERLAND_CACHE:-}" ]; then
		printf '%s\n' "$VH_USERLAND_CACHE"
	elif [ "$(id -u)" -eq 0 ]; then
		echo /var/cache/vfio-handoff
	else
		printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/vfio-handoff"
	fi
}

# lv_userland NAME: LV_ROOT for the userland, built first when it is missing or was built
# from another package list (under a lock: two runs at once build it once).
lv_userland() {
	local name=$1 dir stamp want key=/usr/share/keyrings/debian-archive-keyring.gpg
	LV_ROOT=
	case $name in
	host)
		LV_USERLAND_DESC="the host's userland, $(lv_libvirt_version /)"
		return 0
		;;
	trixie) ;;
	*) vh_die "VH_LIBVIRT_USERLAND=$name: not host or trixie" ;;
	esac
	dir=$(lv_userland_cache)/debian13-libvirt
	stamp=$dir.packages
	want=$(echo trixie $LV_TRIXIE_PACKAGES)
	mkdir -p "${dir%/*}" || vh_die "cannot create ${dir%/*}"
	exec 8>"$dir.lock"
	flock 8
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -x "$dir/usr/sbin/libvirtd" ]; then
		command -v mmdebstrap >/dev/null || vh_die "mmdebstrap is missing (tests/deps.sh --test)"
		vh_log "libvirt: building a Debian 13 userland with mmdebstrap in $dir (once)"
		rm -rf "$dir" "$dir.tmp" "$stamp"
		if ! mmdebstrap --variant=essential --aptopt='Acquire::Languages "none"' \
			--include="$(echo $LV_TRIXIE_PACKAGES | tr ' ' ,)" trixie "$dir.tmp" \
			"deb [signed-by=$key] $(vh_mirror) trixie main" \
			"deb [signed-by=$key] $(vh_mirror) trixie-updates main" \
			"deb [signed-by=$key] $(vh_mirror security) trixie-security main" \
			>"$dir.log" 2>&1; then
			rm -rf "$dir.tmp"
			flock -u 8
			vh_die "mmdebstrap failed (see $dir.log)"
		fi
		# Nothing of the package cache is needed to boot it.
		rm -rf "$dir.tmp"/var/cache/apt/archives/*.deb "$dir.tmp"/var/lib/apt/lists/*_Packages
		mv "$dir.tmp" "$dir" && echo "$want" >"$stamp"
	fi
	flock -u 8
	exec 8>&-
	LV_ROOT=$dir
	LV_USERLAND_DESC="Debian 13 userland in ${dir}, $(lv_libvirt_version "$dir")"
}

# "libvirt X.Y.Z" of the libvirtd package installed under ROOT.
lv_libvirt_version() {
	local v
	v=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' libvirt-daemon 2>/dev/null)
	printf 'libvirt %s\n' "${v:-unknown}"
}

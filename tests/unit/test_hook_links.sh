#!/bin/bash
# The hook program must not link libvirt at all (it runs inside libvirt's own calls);
# the command may. Reads the ELF dynamic sections. TAP-style lines.
B=${B:-build}
hook=$B/vfio-handoff-hook cli=$B/vfio-handoff
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
n=$(needed "$hook")
if [ -n "$n" ] && ! grep -q libvirt <<<"$n"; then echo "ok hook has no libvirt in NEEDED"; else echo "not ok hook NEEDED: $n"; fi
for lib in libxml2 libpci libkmod; do
	if grep -q "$lib" <<<"$n"; then echo "ok hook links $lib"; else echo "not ok hook lacks $lib"; fi
done
if nm -D "$hook" | grep -q ' U vir'; then echo "not ok hook imports vir* symbols"; else echo "ok hook imports no vir* symbol"; fi
if needed "$cli" | grep -q libvirt; then echo "ok command links libvirt (the check can see it)"; else echo "not ok command does not link libvirt"; fi

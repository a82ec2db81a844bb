# Crash recovery: SIGKILL after journaling each step, before applying it (crash-recover.inc).
VH_CRASH=kill-before
# vm-timeout: 600
# vm-build: faults
. /vh/vm/scenarios/crash-recover.inc

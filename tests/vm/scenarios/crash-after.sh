# Crash recovery: SIGKILL right after applying each step in turn (see crash-recover.inc).
VH_CRASH=kill-after
# vm-timeout: 600
# vm-build: faults
. /vh/vm/scenarios/crash-recover.inc

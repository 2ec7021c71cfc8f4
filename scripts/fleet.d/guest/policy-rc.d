#!/bin/sh
# patchform fleet: maintainer scripts must not start or restart daemons inside fleet hosts
# (sshd is managed by the host's PID 1, /usr/local/sbin/pf-init).
exit 101

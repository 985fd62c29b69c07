#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# start-mb.sh SOCKET CMD...: the replica middlebox, started by ftmb-hostd at
# the same moment as the replica's ftmb-vhost: waits until that ftmb-vhost
# serves its vhost-user socket (it creates the shared region first), then
# runs the middlebox. Gives up after 10 s.
sock=$1
shift
i=0
while [ ! -S "$sock" ]; do
	i=$((i + 1))
	[ $i -le 2000 ] || { echo "start-mb: no vhost-user socket $sock after 10 s" >&2; exit 1; }
	sleep 0.005
done
exec "$@"

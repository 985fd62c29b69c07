#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The negative control of failover-vm.sh: the same rounds with replicas
# that replay without the logged access order (ftmb-vhost replay_order=off).
# It passes only if ftmb-verify or the replica's own check of its PAL
# records against the log catches at least half of the rounds that had an
# order to get wrong (logged records after the checkpoint's cut), and at
# least one: the checks that pass the ordered rounds have teeth.
exec "$(dirname "$0")/failover-vm.sh" --unordered "${NEGATIVE_ROUNDS:-3}"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The negative control of failover-proc.sh: the same rounds, with the
# replicas replaying WITHOUT the logged access order (ftmb-vhost
# replay_order=off). It passes only if every round is caught (by ftmb-verify
# or by the replica's divergence check) and ftmb-verify finds violations in at
# least half of them: the verifier is shown to catch a divergent replica.
#
#   negative-control.sh [ROUNDS]      (default 6)
exec "$(dirname "$0")/failover-proc.sh" --unordered "${1:-6}"

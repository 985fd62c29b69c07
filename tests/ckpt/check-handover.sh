#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Planned failover of a VM under TCG (check_handover.py says what is
# checked). About a minute.
. "$(dirname "$0")/lab.sh"
lab_run check_handover.py "$@"

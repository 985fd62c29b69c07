#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# make bench-checkpoint: the checkpoint pause of a loaded 256 MiB guest at a
# 50 ms interval next to a bare QMP stop+cont in the same run, the dirty
# pages per checkpoint, and the restore time (bench_checkpoint.py says how
# each is measured). The accelerator is what tools/accel-probe.sh answers.
# The last line:
#   bench-checkpoint accel=... mem_mib=256 interval_ms=50 pause_p50_us=...
#   pause_p99_us=... stopcont_p50_us=... pause_ratio=... dirty_pages_p50=...
#   restore_ms=...
. "$(dirname "$0")/lab.sh"
lab_run bench_checkpoint.py --accel-probe "$PWD/tools/accel-probe.sh" "$@"

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Starts the traffic, then fails host A a given time later.

  kill_after.py NETNS OUT GO_FILE DELAY_MS

At real-time priority from the start, so that neither its own start-up nor
its wake-up waits behind a TCG guest on two busy cores: creates GO_FILE
(ftmb-traffic --go-file starts sending), sleeps DELAY_MS, then every
process of NETNS gets SIGKILL at once (kill_host.py, whose line it writes
to OUT, followed by the go moment on CLOCK_REALTIME).
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostproc"))
from kill_host import pids_in, signal_all, wait_gone  # noqa: E402


def main():
    netns, out, go_file, delay_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
    go_wall = time.time_ns()
    open(go_file, "w").close()
    time.sleep(delay_ms / 1000)
    pids = pids_in(netns)
    if not pids:
        raise SystemExit(f"kill_after: no process runs in {netns}")
    mono, wall = time.monotonic_ns(), time.time_ns()
    signal_all(pids, signal.SIGKILL)
    gone = wait_gone(pids)
    with open(out, "w") as f:
        f.write(f"{mono} {wall} {len(pids)} {gone} {go_wall}\n")


if __name__ == "__main__":
    main()

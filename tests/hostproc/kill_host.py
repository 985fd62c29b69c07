#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fails a host: every process of a network namespace dies.

  kill_host.py NETNS OUT [--hang-ms MS]

Without --hang-ms every process gets SIGKILL at once, as in a crash of the
host's software: the kernel closes their connections, and the backup may
see the ends before any heartbeat is missed. With --hang-ms the host first
hangs (SIGSTOP: nothing more leaves it, no connection ends) and dies MS
later: only the heartbeat timeout can tell, as after a power loss.

OUT gets one line "MONO_NS WALL_NS PIDS GONE_NS": the moment of the failure
(the first signal) on CLOCK_MONOTONIC (the clock of the sink's records and
of ftmb-vhost's traces) and on CLOCK_REALTIME (the clock of hostd's status
times), how many processes there were, and when the last of them had
exited (monotonic; a process holding much memory takes a while, and its
sockets close only then). `date +%s%N` would give only the second clock.
"""
import os
import signal
import sys
import time


def pids_in(netns):
    """The processes in the named namespace (what `ip netns pids` does,
    without a process of its own at the moment that counts)."""
    ns = os.stat(f"/run/netns/{netns}").st_ino
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            if os.stat(f"/proc/{p}/ns/net").st_ino == ns:
                out.append(int(p))
        except OSError:
            pass
    return out


def signal_all(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def alive(pid):
    """Not yet exited (a zombie has: its memory and files are released)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return time.monotonic_ns()
        time.sleep(0.0005)
    return 0


def main():
    args = sys.argv[1:]
    hang_ms = None
    if "--hang-ms" in args:
        i = args.index("--hang-ms")
        hang_ms = int(args[i + 1])
        del args[i:i + 2]
    netns, out = args
    # At real-time priority, like the hostds: on two busy cores the second
    # signal must not come late.
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
    pids = pids_in(netns)
    if not pids:
        raise SystemExit(f"kill_host: no process runs in {netns}")
    mono, wall = time.monotonic_ns(), time.time_ns()
    if hang_ms is not None:
        signal_all(pids, signal.SIGSTOP)
        time.sleep(hang_ms / 1000)
    signal_all(pids, signal.SIGKILL)
    gone = wait_gone(pids)
    with open(out, "w") as f:
        f.write(f"{mono} {wall} {len(pids)} {gone}\n")


if __name__ == "__main__":
    main()

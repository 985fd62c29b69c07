# SPDX-License-Identifier: GPL-2.0-or-later
"""Where some processes' threads spent a run, to say what limits it.

  cpu.py snapshot PID... > FILE     per thread: name, time on a CPU and time
                                    runnable but waiting for one
                                    (/proc/PID/task/TID/schedstat, in ns)
  cpu.py report BEFORE AFTER        per thread in between, as % of the wall
                                    time: "run R% wait W%", with the host's
                                    load average
"""
import json
import os
import sys
import time


def snapshot(pids):
    threads = {}
    for pid in pids:
        comm = open(f"/proc/{pid}/comm").read().strip()
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
                run, wait = open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[:2]
            except OSError:
                continue
            threads[tid] = [f"{comm}/{name}", int(run), int(wait)]
    return {"t": time.monotonic(), "threads": threads}


def report(before, after):
    secs = after["t"] - before["t"]
    use = {}
    for tid, (name, run, wait) in after["threads"].items():
        if tid in before["threads"]:
            _, run0, wait0 = before["threads"][tid]
            r, w = use.get(name, (0, 0))
            use[name] = (r + (run - run0) / 1e9, w + (wait - wait0) / 1e9)
    top = sorted(use.items(), key=lambda kv: -kv[1][0])
    print("over %.1f s, per thread: %s; load average %s" % (
        secs, ", ".join("%s run %.0f%% wait %.0f%%" % (n, 100 * r / secs, 100 * w / secs)
                        for n, (r, w) in top if r / secs >= 0.02),
        " ".join(open("/proc/loadavg").read().split()[:3])))


if sys.argv[1] == "snapshot":
    json.dump(snapshot(sys.argv[2:]), sys.stdout)
else:
    report(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Where the CPU goes during a run, from two samples of /proc.

  cpu_account.py measure [--json] [--after S] [--for S] ROLE=PID[,PID...]...
      Samples, AFTER seconds from now and again FOR seconds later, the
      utime+stime of each process (and each of its threads), of the kernel's
      ksoftirqd/N threads (role ksoftirqd) and of the whole machine
      (/proc/stat). Reports CPU seconds and percent of all CPUs per role,
      process and thread, the seconds they were runnable but waited for a
      CPU (schedstat) and the CPUs each thread may run on; the machine's
      user, system, irq, softirq, steal and idle; and other: busy CPU
      charged to none of the roles.
  cpu_account.py compare PREFIX MODE:MPPS:REPORT...
      REPORT is a measure --json report of a run that carried MPPS million
      packets/s. Per mode, the run with the median MPPS as one line
        PREFIX mode=M mpps=.. ROLE_pct=.. softirq_pct=.. steal_pct=..
          other_pct=.. idle_pct=.. cpu_us_per_pkt=..
      (cpu_us_per_pkt: the roles' CPU per packet), then per further mode
      the CPU microseconds per packet each role adds to the first mode.

Process figures are what the kernel charges the task. Without
CONFIG_IRQ_TIME_ACCOUNTING, softirq work (veth, TCP) counts for the task it
interrupted: it is in that task's figure and in softirq_pct as well.
Processes are charged their exact run time while /proc/stat's busy time
is sampled at each tick: when the roles are all that runs, other_pct, the
difference, stays within about ten percent of zero, of either sign.
"""
import argparse
import json
import os
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
MACHINE_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def read_stat(path):
    """(comm, state, utime, stime) of /proc/PID/stat or a thread's: fields 2, 3, 14, 15."""
    with open(path) as f:
        head, _, rest = f.read().rpartition(")")
    fields = rest.split()
    return head.split("(", 1)[1], fields[0], int(fields[11]), int(fields[12])


def run_delay_ns(path):
    """How long a thread has been runnable waiting for a CPU: schedstat field 2."""
    with open(path) as f:
        return int(f.read().split()[1])


def cpus_allowed(path):
    """The CPUs a thread may run on, e.g. "0-1", from its status file."""
    with open(path) as f:
        return next(line.split()[1] for line in f if line.startswith("Cpus_allowed_list:"))


def sample_process(role, pid):
    try:
        comm, state, utime, stime = read_stat(f"/proc/{pid}/stat")
    except FileNotFoundError:
        state = "gone"
    if state in ("Z", "gone"):
        sys.exit(f"cpu_account: {role} process {pid} has exited: measure while it runs")
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            t_comm, _, t_utime, t_stime = read_stat(f"/proc/{pid}/task/{tid}/stat")
            wait = run_delay_ns(f"/proc/{pid}/task/{tid}/schedstat")
            cpus = cpus_allowed(f"/proc/{pid}/task/{tid}/status")
        except FileNotFoundError:
            continue  # ended meanwhile: the process total keeps its CPU time
        threads[tid] = (t_comm, t_utime + t_stime, wait, cpus)
    return {"comm": comm, "utime": utime, "stime": stime, "threads": threads}


def ksoftirqd_pids():
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().startswith("ksoftirqd/"):
                    pids.append(int(pid))
        except FileNotFoundError:
            pass
    return sorted(pids)


def sample_machine():
    with open("/proc/stat") as f:
        fields = f.readline().split()
    assert fields[0] == "cpu"
    return dict(zip(MACHINE_FIELDS, map(int, fields[1:9])))


def sample(roles):
    return {
        "t": time.monotonic(),
        "machine": sample_machine(),
        "roles": {role: {pid: sample_process(role, pid) for pid in pids}
                  for role, pids in roles.items()},
    }


def share(ticks, total):
    return {"cpu_s": round(ticks / CLK_TCK, 3), "pct": round(100 * ticks / total, 2)}


def process_report(pid, s, e, total):
    """(CPU ticks of process pid in the window, its report)."""
    threads = []
    for tid, (comm, ticks, wait, cpus) in e["threads"].items():
        _, ticks0, wait0, _ = s["threads"].get(tid, (comm, 0, 0, cpus))
        threads.append({"tid": int(tid), "comm": comm, **share(ticks - ticks0, total),
                        "wait_s": round((wait - wait0) / 1e9, 3), "cpus": cpus})
    threads.sort(key=lambda t: -t["cpu_s"])
    user, system = e["utime"] - s["utime"], e["stime"] - s["stime"]
    return user + system, {
        "pid": pid, "comm": e["comm"], **share(user + system, total),
        "user_pct": share(user, total)["pct"], "system_pct": share(system, total)["pct"],
        "wait_s": round(sum(t["wait_s"] for t in threads), 3), "threads": threads}


def report(start, end):
    """Every figure over the window between the two samples; percentages
    are of all CPUs' time in it (what /proc/stat counted)."""
    machine = {k: end["machine"][k] - start["machine"][k] for k in MACHINE_FIELDS}
    total = sum(machine.values())
    busy = total - machine["idle"] - machine["iowait"] - machine["steal"]
    roles, charged = {}, 0
    for role, procs in end["roles"].items():
        ticks, reports = zip(*(process_report(pid, start["roles"][role][pid], e, total)
                               for pid, e in procs.items()))
        charged += sum(ticks)
        roles[role] = {**share(sum(ticks), total), "processes": list(reports)}
    pct = {k: share(v, total)["pct"] for k, v in machine.items()}
    return {
        "window_s": round(end["t"] - start["t"], 3),
        "cpus": os.sysconf("SC_NPROCESSORS_ONLN"),
        "roles": roles,
        "other_pct": share(busy - charged, total)["pct"],
        "machine": {"user_pct": round(pct["user"] + pct["nice"], 2),
                    "system_pct": pct["system"], "irq_pct": pct["irq"],
                    "softirq_pct": pct["softirq"], "steal_pct": pct["steal"],
                    "idle_pct": round(pct["idle"] + pct["iowait"], 2)},
    }


def print_report(r):
    print(f"CPU over {r['window_s']:.2f} s, in percent of all {r['cpus']} CPUs:")
    for role, v in r["roles"].items():
        print(f"  {role:<10} {v['cpu_s']:7.2f} s {v['pct']:6.1f}%")
        for p in v["processes"]:
            print(f"    pid {p['pid']:<7} {p['comm']:<16} {p['cpu_s']:7.2f} s {p['pct']:6.1f}%"
                  f"  (user {p['user_pct']:.1f}%, system {p['system_pct']:.1f}%;"
                  f" waited {p['wait_s']:.2f} s for a CPU)")
            for t in p["threads"]:
                if t["cpu_s"] > 0 or t["wait_s"] > 0:
                    print(f"      tid {t['tid']:<7} {t['comm']:<16} {t['cpu_s']:5.2f} s {t['pct']:6.1f}%"
                          f"  (waited {t['wait_s']:.2f} s; CPUs {t['cpus']})")
    print(f"  {'other':<10} {r['other_pct']:17.1f}%  (busy, charged to none of the above)")
    print("machine: " + "  ".join(f"{k[:-4]} {v:.1f}%" for k, v in r["machine"].items()))


def parse_roles(args):
    roles = {}
    for arg in args:
        role, sep, pids = arg.partition("=")
        if not sep or not all(p.isdigit() for p in pids.split(",")):
            sys.exit(f"cpu_account: '{arg}' is not ROLE=PID[,PID...]")
        roles[role] = [int(p) for p in pids.split(",")]
    ksoftirqd = ksoftirqd_pids()
    if ksoftirqd:
        roles["ksoftirqd"] = ksoftirqd
    return roles


def measure(a):
    roles = parse_roles(a.roles)
    time.sleep(a.after)
    start = sample(roles)
    time.sleep(a.duration)
    r = report(start, sample(roles))
    if a.json:
        json.dump(r, sys.stdout, indent=1)
        print()
    else:
        print_report(r)


def us_per_pkt(r, mpps):
    """CPU microseconds per packet of each role: its cores over Mpps."""
    return {role: v["pct"] / 100 * r["cpus"] / mpps if mpps > 0 else float("inf")
            for role, v in r["roles"].items()}


def median_runs(runs):
    by_mode = {}
    for arg in runs:
        mode, mpps, path = arg.split(":", 2)
        by_mode.setdefault(mode, []).append((float(mpps), path))
    picked = {}
    for mode, rs in by_mode.items():
        mpps, path = sorted(rs)[(len(rs) - 1) // 2]
        with open(path) as f:
            picked[mode] = (mpps, json.load(f))
    return picked


def compare(a):
    picked = median_runs(a.runs)
    cost = {}
    for mode, (mpps, r) in picked.items():
        cost[mode] = us_per_pkt(r, mpps)
        m = r["machine"]
        print(f"{a.prefix} mode={mode} mpps={mpps:.4f} "
              + "".join(f"{role}_pct={v['pct']:.1f} " for role, v in r["roles"].items())
              + f"softirq_pct={m['softirq_pct']:.1f} steal_pct={m['steal_pct']:.1f} "
              f"other_pct={r['other_pct']:.1f} idle_pct={m['idle_pct']:.1f} "
              f"cpu_us_per_pkt={sum(cost[mode].values()):.2f}")
    base, *others = picked
    for mode in others:
        added = {role: us - cost[base].get(role, 0) for role, us in cost[mode].items()}
        parts = ", ".join(f"{role} {v:+.2f}" for role, v in
                          sorted(added.items(), key=lambda kv: -kv[1]))
        print(f"{a.prefix} {mode} vs {base}: {sum(added.values()):+.2f} CPU us per packet "
              f"({sum(cost[base].values()):.2f} -> {sum(cost[mode].values()):.2f}): {parts}; "
              f"idle {picked[base][1]['machine']['idle_pct']:.0f}% -> "
              f"{picked[mode][1]['machine']['idle_pct']:.0f}%")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="CPU per process over a window")
    m.add_argument("--json", action="store_true", help="JSON report for scripts")
    m.add_argument("--after", type=float, default=0, metavar="S",
                   help="seconds to wait before the window (default 0)")
    m.add_argument("--for", dest="duration", type=float, default=1, metavar="S",
                   help="the window's length in seconds (default 1)")
    m.add_argument("roles", nargs="+", metavar="ROLE=PID[,PID...]")
    m.set_defaults(run=measure)
    c = sub.add_parser("compare", help="modes side by side, per packet")
    c.add_argument("prefix", help="what each line starts with")
    c.add_argument("runs", nargs="+", metavar="MODE:MPPS:REPORT")
    c.set_defaults(run=compare)
    a = p.parse_args()
    a.run(a)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks a replica run against its primary (see test_replay.sh).

  check_replay.py WORKDIR

Reads primary.trace / replica.trace (test-guest --log), r1.frames (the
replay file), replica.json (ftmb-vhost --stats), replica.rec (test-ext
--records) and replica.region (a copy of the replica's shared region).
"""
import json
import struct
import sys


def trace_inputs(path):
    per_q = {}
    for line in open(path):
        f = line.split()
        if f[0] == "in":
            per_q.setdefault(int(f[1]), []).append((int(f[2]), f[3]))
    return per_q


def replay_file(path):
    """Per-var horizons, per-thread record counts, RELEASED watermarks."""
    data = open(path, "rb").read()
    off, horizon, records, released = 0, {}, {}, {}
    while off < len(data):
        length, ftype = struct.unpack_from("<IB", data, off)
        p = off + 12
        if ftype == 3:  # PAL
            thread, count = struct.unpack_from("<HH", data, p)
            records[thread] = records.get(thread, 0) + count
            for i in range(count):
                rtype, _, var, counter, seq, _ = struct.unpack_from("<HHIQQQ", data, p + 8 + 32 * i)
                if rtype == 1:
                    horizon[var] = max(horizon.get(var, 0), seq)
        elif ftype == 4:  # RELEASED
            n = struct.unpack_from("<H", data, p)[0]
            for t in range(n):
                released[t] = struct.unpack_from("<Q", data, p + 8 + 8 * t)[0]
        off = p + length
    return horizon, records, released


def region(path):
    data = open(path, "rb").read()
    (magic, _, _, _, n_threads, mode, _, slots, n_vars, stride, _, replay_off,
     horizons_off) = struct.unpack_from("<IHHQIIQIIQQQQ", data, 0)
    horizons = struct.unpack_from(f"<{n_vars}Q", data, horizons_off)
    closed = [struct.unpack_from("<Q", data, replay_off + t * stride + 128)[0]
              for t in range(n_threads)]
    return mode, horizons, closed


def main():
    w = sys.argv[1]
    prim = trace_inputs(f"{w}/primary.trace")
    repl = trace_inputs(f"{w}/replica.trace")
    horizon, records, released = replay_file(f"{w}/r1.frames")
    inst = json.load(open(f"{w}/replica.json"))["instances"][0]
    rows = [l.split() for l in open(f"{w}/replica.rec")]
    mode, horizons, closed = region(f"{w}/replica.region")
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= bool(cond)

    logged = {q: len(v) for q, v in prim.items()}
    for q in sorted(prim):
        n = logged[q]
        check(repl.get(q, [])[:n] == prim[q],
              f"queue {q}: the replica's guest got the {n} logged inputs again, same seqs and bytes")
        new = [s for s, _ in repl.get(q, [])[n:]]
        check(new == list(range(n + 1, n + 1 + len(new))) and len(new) > 0,
              f"queue {q}: then {len(new)} new inputs numbered from {n + 1}")
    rp = inst["replay"]
    check(rp["live"], "the replica went live")
    check(rp["fed_inputs"] == [logged.get(q, 0) for q in range(len(rp["fed_inputs"]))],
          f"fed inputs {rp['fed_inputs']} = logged")
    check(rp["fed_records"] == [records.get(t, 0) for t in range(len(rp["fed_records"]))],
          f"fed records {rp['fed_records']} = logged {records}")
    check(all(c == 1 for c in closed), f"replay rings closed {closed}")
    check(rp["complete"] and mode == 1,
          "the replica reproduced every logged record, then switched its region to mode record")
    check(all(horizons[v] == horizon.get(v, 0) for v in range(len(horizons))),
          f"horizons written for {len(horizon)} variables (e.g. var 0: {horizons[0]})")
    check(rp["divergences"] == 0, "no PAL differed from the log")
    sup = [q["suppressed"] for q in inst["queues"]]
    check(sup == [released.get(t, 0) for t in range(len(sup))],
          f"suppressed {sup} = logged RELEASED watermarks {released}")
    leaked = [r for r in rows if int(r[6]) <= released.get(int(r[7]), 0)]
    check(not leaked, f"no output up to the watermark left the replica ({len(rows)} left)")
    check(all(r[8] == "0" for r in rows), "no tag left the replica")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

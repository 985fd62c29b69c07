#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""What one failover round did, from recorded evidence; and the summary.

  check_failover.py round --work DIR --round N --mb MB --kind KIND
                    --kill-after-ms MS --verify-rc RC --results FILE [--unordered]
  check_failover.py summary --results FILE --rounds N --failed-rounds F [--unordered]

A round reads, in DIR:
  kill            kill_host.py: the failure on CLOCK_MONOTONIC and CLOCK_REALTIME
  status-b.json   hostd b's status after the failover (ftmbctl --json status)
  gen.json        ftmb-traffic's report; gen.rec its sink records
  state-b/*.replay the log hostd b dumped for the replica
  replica.trace   the replica ftmb-vhost's trace: "rel" released, "sup" suppressed
  vhost-b.json    the replica ftmb-vhost's statistics (replay timeline)
  verify.out      ftmb-verify's output (its exit code is --verify-rc)
and prints one line, appends a JSON object to --results, and exits 1 when
the round failed: the failover was missed, traffic was lost that the
failover does not explain, or (ordered replay) ftmb-verify found a
violation. With --unordered a violation is what the round should find.

Times, all on CLOCK_MONOTONIC, from the kill:
  detect    hostd b declared the primary failed (its status, wall clock,
            mapped through the kill's pair of clock readings)
  dump      the log was written as a replay file
  spawn     the replica commands were started
  vhost     the replica ftmb-vhost loaded the log, set up region and port
  connect   the loop saw the replica middlebox's device (EAL, virtio-user)
  settle    the first logged input went to the guest
  replay    the guest reproduced every logged record
  recovery  the sink received the first frame the replica released
Replay speed is logged inputs over the replay phase, compared with the
rate the generator sent at (the rate at which they were logged).

Every packet the sink did not receive (per-flow sequence gaps) is put in
one class:
  in-flight   logged, and the replica suppressed its output: the primary
              released it just before it died, with its link
  link        logged, released by the replica, and never received
  unreplayed  logged, and the replica never output it: the replay lost an
              input (the round fails)
  window      never logged, sent from 100 ms before the failure (or
              from the last frame the primary logged, if earlier: frames
              queue towards a starved primary, which takes them in the
              order they were sent, and those still queued die with it)
              until 100 ms after the replica was live and its link up
  unlogged    never logged, sent outside that window
Only "unreplayed" fails a round: the other classes depend on how long the
processes waited for a CPU (the window is a guess of 100 ms each side), so
they are reported, not asserted, as are packets lost after every flow's
last received one (the end of the run).
"""
import argparse
import bisect
import datetime
import glob
import json
import os
import re
import statistics
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_path import (TESTPKT_MAGIC, first_covering, load_acks, load_records,  # noqa: E402
                        load_releases)

WINDOW_NS = 100_000_000
BURST_SLACK_NS = 2_000_000  # a burst of 32 at 15 kpps
REPL_HDR = struct.Struct("<IBBHI")
REPL_INPUT = struct.Struct("<HHIQ")
TESTPKT_HEAD = struct.Struct("<IIQ")
PAYLOAD_OFF = 42


def read_replay(path):
    """(flow, seq) of every test frame among the replay file's INPUT frames,
    and per queue the last input seq, per thread the last record counter."""
    data, off, keys = open(path, "rb").read(), 0, set()
    last_in, last_pal = {}, {}
    while off + REPL_HDR.size <= len(data):
        length, ftype, _, _, _ = REPL_HDR.unpack_from(data, off)
        body = off + REPL_HDR.size
        if ftype == 2:
            queue, _, _, seq = REPL_INPUT.unpack_from(data, body)
            last_in[queue] = seq
            magic, flow, fseq = TESTPKT_HEAD.unpack_from(data, body + REPL_INPUT.size + PAYLOAD_OFF)
            if magic == TESTPKT_MAGIC:
                keys.add((flow, fseq))
        elif ftype == 3:
            thread, count = struct.unpack_from("<HH", data, body)
            first, = struct.unpack_from("<Q", data, body + 8 + 8)
            last_pal[thread] = first + count - 1
        off += REPL_HDR.size + length
    return keys, last_in, last_pal


def check_output_commit(w, last_in, last_pal):
    """Every output the primary released depended only on what the backup
    had acknowledged before, and on what the replay file holds."""
    path = os.path.join(w, "primary.trace")
    if not os.path.exists(path):
        return []
    rels = load_releases(path)
    acks = load_acks(os.path.join(w, "b.acks"), 0)
    problems = []
    for (flow, seq), (t, thread, out_seq, dep_in, dep_pal) in sorted(rels.items(),
                                                                      key=lambda r: r[1][0]):
        ack = first_covering(acks, dep_in, dep_pal)
        if ack is None or ack[0] > t:
            problems.append(f"the primary released flow {flow} seq {seq} (thread {thread} output "
                            f"{out_seq}, dep in={dep_in} pal={dep_pal}) before the backup "
                            f"acknowledged what it depends on")
        elif any(d > last_in.get(q, 0) for q, d in enumerate(dep_in)) or \
                any(d > last_pal.get(q, 0) for q, d in enumerate(dep_pal)):
            problems.append(f"the primary released flow {flow} seq {seq} (thread {thread} output "
                            f"{out_seq}, dep in={dep_in} pal={dep_pal}) but the replay file "
                            f"ends at in={[last_in.get(q, 0) for q in range(len(dep_in))]} "
                            f"pal={[last_pal.get(q, 0) for q in range(len(dep_pal))]}")
        if problems:
            break
    return problems


def replica_trace(path):
    """(flow, seq) -> (kind, mono_ns) of the replica's outputs."""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        f = line.split()
        magic, flow, seq = TESTPKT_HEAD.unpack(bytes.fromhex(f[-1]))
        if magic == TESTPKT_MAGIC:
            out.setdefault((flow, seq), (f[0], int(f[1])))
    return out


def iso_ns(text):
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000


def failover_of(status):
    for inst in status.get("instances", []):
        if inst.get("failover"):
            return inst["failover"]
    return None


def missing_tx_ns(recs, flows):
    """Estimates, for a lost (flow, seq), when it was sent: flows are sent
    round-robin, so packet k = (seq - 1) * flows + flow, and its time lies
    between the received packets numbered around it."""
    points = sorted(((r[5] - 1) * flows + r[0], r[6]) for r in recs)
    ks = [p[0] for p in points]

    def estimate(flow, seq):
        k = (seq - 1) * flows + flow
        i = bisect.bisect_left(ks, k)
        if i == 0:
            return points[0][1]
        if i == len(points):
            return points[-1][1]
        (k0, t0), (k1, t1) = points[i - 1], points[i]
        return t0 + (t1 - t0) * (k - k0) // max(k1 - k0, 1)
    return estimate


def classify_losses(recs, flows, logged, trace, kill_ns, back_ns):
    got, top = set(), {}
    for r in recs:
        got.add((r[0], r[5]))
        top[r[0]] = max(top.get(r[0], 0), r[5])
    when = missing_tx_ns(recs, flows)
    # The primary takes frames from its port in the order they were sent
    # (one burst at a time): what it never logged and was sent after the
    # last frame it logged was still queued for it when it failed.
    last_logged = max((r[6] for r in recs if (r[0], r[5]) in logged), default=kill_ns)
    start = min(kill_ns - WINDOW_NS, last_logged - BURST_SLACK_NS)
    classes = {"in_flight": 0, "link": 0, "unreplayed": 0, "window": 0, "unlogged": 0}
    first = {}
    for flow, hi in top.items():
        for seq in range(1, hi):
            if (flow, seq) in got:
                continue
            kind = trace.get((flow, seq), ("none",))[0]
            if (flow, seq) in logged:
                cls = {"sup": "in_flight", "rel": "link", "none": "unreplayed"}[kind]
                why = "logged"
            else:
                t = when(flow, seq)
                ok = start <= t and (back_ns is None or t <= back_ns + WINDOW_NS)
                cls = "window" if ok else "unlogged"
                why = f"not logged, sent {(t - kill_ns) / 1e6:+.1f} ms from the failure"
            classes[cls] += 1
            first.setdefault(cls, f"flow {flow} seq {seq}: {why}")
    return classes, first


def ms(a, b):
    return None if a is None or b is None or not a or not b else (b - a) / 1e6


def replica_tx_failed(work):
    path = os.path.join(work, "state-b", "mb1.middlebox.log")
    if not os.path.exists(path):
        return 0
    return sum(int(m.group(1)) for m in re.finditer(r"tx-failed (\d+)", open(path).read()))


def round_main(a):
    w = a.work
    res = {"round": a.round, "mb": a.mb, "kind": a.kind, "kill_after_ms": a.kill_after_ms,
           "verify_rc": a.verify_rc, "problems": []}
    kill_mono, kill_wall, _, gone = map(int, open(os.path.join(w, "kill")).read().split())
    res["old_gone_ms"] = ms(kill_mono, gone)
    res["late_ms"] = (kill_wall - a.go_wall_ns) / 1e6 - a.kill_after_ms
    to_mono = kill_mono - kill_wall
    gen = json.load(open(os.path.join(w, "gen.json")))
    recs = load_records(os.path.join(w, "gen.rec"))
    status = json.load(open(os.path.join(w, "status-b.json")))
    fo = failover_of(status)
    replays = glob.glob(os.path.join(w, "state-b", "*.replay"))
    try:
        vstats = json.load(open(os.path.join(w, "vhost-b.json")))["instances"][0]
        at = vstats["replay"]["at_mono_ns"]
    except (OSError, ValueError, KeyError, IndexError):
        vstats, at = None, {}
    at = {k: (v or None) for k, v in at.items()}

    trace = replica_trace(os.path.join(w, "replica.trace"))
    logged, last_in, last_pal = read_replay(replays[0]) if replays else (set(), {}, {})
    res["problems"] += check_output_commit(w, last_in, last_pal)

    detected = iso_ns(fo["detected_at"]) + to_mono if fo and fo.get("detected_at") else None
    # A heartbeat late by more than the timeout (a starved machine) fails
    # the primary over while it still runs: fenced, it releases nothing
    # new, and the round still checks that nothing diverged; but its times
    # measure no failure, and what was lost was lost from the detection on.
    res["premature"] = detected is not None and detected < kill_mono
    failed = detected if res["premature"] else kill_mono
    res["detect_ms"] = None if res["premature"] else ms(kill_mono, detected)
    # (A premature failover during set-up, before the log stream began,
    # has nothing to replay: no replica, and no violation possible.)
    if not res["premature"] and (not fo or not replays or not at.get("live")):
        res["problems"].append("missed failover: " + (
            "hostd b did not fail over" if not fo else
            "no replay file" if not replays else "the replica never went live"))
    if fo:
        res["dump_ms"] = fo.get("dump_ms")
        res["spawn_ms"] = (fo.get("replica_start_ms") or 0) - (fo.get("dump_ms") or 0)
        started = detected + int((fo.get("replica_start_ms") or 0) * 1e6) if detected else None
        res["vhost_ms"] = ms(started, at.get("begin"))
    res["connect_ms"] = ms(at.get("begin"), at.get("connected"))
    res["settle_ms"] = ms(at.get("connected"), at.get("first_fed"))
    res["replay_ms"] = ms(at.get("first_fed"), at.get("complete"))
    res["live_ms"] = ms(kill_mono, at.get("live"))
    res["port_up_ms"] = ms(kill_mono, at.get("port_up"))

    first_rel = min((t for k, t in trace.values() if k == "rel"), default=None)
    rel_keys = {key for key, (k, _) in trace.items() if k == "rel"}
    first_rx = min((r[7] for r in recs if (r[0], r[5]) in rel_keys and first_rel
                    and r[7] >= first_rel), default=None)
    res["recovery_ms"] = None if res["premature"] else ms(kill_mono, first_rx)
    res["replica_first_release_ms"] = ms(kill_mono, first_rel)

    replay = vstats["replay"] if vstats else {}
    res["replayed"] = sum(replay.get("fed_inputs", []))
    res["suppressed"] = sum(q["suppressed"] for q in vstats["queues"]) if vstats else 0
    res["divergences"] = replay.get("divergences")
    res["logged_rate"] = gen["tx"]["mpps"] * 1e6
    if res["replay_ms"]:
        res["replay_rate"] = res["replayed"] / res["replay_ms"] * 1e3
        res["replay_x"] = res["replay_rate"] / res["logged_rate"]

    if recs and kill_mono > max(r[6] for r in recs):
        res["problems"].append(f"the host failed {res['late_ms']:.0f} ms later than asked, after "
                               f"the traffic had ended (was the harness starved of CPU?)")
    sent = gen["tx"]["whole_run"]["packets"]
    back = max(at.get("live") or 0, at.get("port_up") or 0) or None
    losses, first = classify_losses(recs, gen["flows"], logged, trace, failed, back)
    res.update(sent=sent, received=gen["rx"]["unique_whole_run"],
               duplicates=gen["rx"]["duplicates"], lost=sent - gen["rx"]["unique_whole_run"],
               replica_tx_failed=replica_tx_failed(w), **{f"lost_{k}": v for k, v in losses.items()})
    res["lost_at_end"] = res["lost"] - sum(losses.values())
    if losses["unreplayed"]:
        res["problems"].append(f"{losses['unreplayed']} logged inputs the replica never output "
                               f"(first: {first['unreplayed']})")

    verdict = open(os.path.join(w, "verify.out")).read().strip()
    res["violation"] = a.verify_rc == 1
    if a.verify_rc not in (0, 1):
        res["problems"].append(f"ftmb-verify could not check: {verdict}")
    elif res["violation"] and not a.unordered:
        res["problems"].append("ftmb-verify: " + verdict.replace("\n", " | "))
    res["verify"] = verdict.splitlines()[0] if verdict else ""

    def f(v, unit=" ms"):
        return "?" if v is None else f"{v:.1f}{unit}"
    print(f"round {a.round} {a.mb} {a.kind} (failure {a.kill_after_ms} ms in, "
          f"{res['late_ms']:+.0f} ms late): "
          f"detect {f(res['detect_ms'])}, recovery {f(res['recovery_ms'])} "
          f"[dump {f(res.get('dump_ms'))}, spawn {f(res.get('spawn_ms'))}, "
          f"vhost {f(res.get('vhost_ms'))}, connect {f(res['connect_ms'])}, "
          f"settle {f(res['settle_ms'])}, replay {f(res['replay_ms'])}; "
          f"old host's processes gone {f(res['old_gone_ms'])}, replica's link up "
          f"{f(res['port_up_ms'])}]; "
          f"replayed {res['replayed']} at {f(res.get('replay_rate'), '/s')} "
          f"({f(res.get('replay_x'), 'x')} the logged rate), suppressed {res['suppressed']}, "
          f"divergences {res['divergences']}; sent {sent}, lost {res['lost']} "
          f"(in flight {losses['in_flight']}, window {losses['window']}, "
          f"link {losses['link']}, unreplayed {losses['unreplayed']}, unlogged "
          f"{losses['unlogged']}, at the end {res['lost_at_end']}), duplicates {res['duplicates']}; "
          f"{res['verify']}")
    if res["premature"]:
        print(f"round {a.round}: PREMATURE failover {(kill_mono - detected) / 1e6:.0f} ms before "
              f"the host failed ({fo.get('reason')}): the primary was fenced; times not counted")
    for p in res["problems"]:
        print(f"round {a.round}: FAIL: {p}")
    with open(a.results, "a") as out:
        out.write(json.dumps(res) + "\n")
    return 1 if res["problems"] else 0


def quantile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def summary_main(a):
    rows = [json.loads(line) for line in open(a.results)] if os.path.exists(a.results) else []
    n = len(rows)
    viol = sum(r["violation"] for r in rows)
    caught = sum(bool(r["violation"] or r.get("divergences")) for r in rows)

    def col(name, rs=rows):
        return [r[name] for r in rs if r.get(name) is not None]
    for label, rs in [(f"{mb} {kind}", [r for r in rows if r["mb"] == mb and r["kind"] == kind])
                      for mb in ("monitor", "nat") for kind in ("crash", "hang")]:
        if not rs:
            continue
        parts = [f"{k} p50 {statistics.median(col(k, rs)):.1f}" for k in
                 ("detect_ms", "dump_ms", "spawn_ms", "vhost_ms", "connect_ms", "settle_ms",
                  "replay_ms", "recovery_ms") if col(k, rs)]
        print(f"summary {label}: {len(rs)} rounds; " + ", ".join(parts))
    rec = col("recovery_ms")
    if rec:
        print(f"summary recovery_ms: p50 {quantile(rec, .5):.1f} p90 {quantile(rec, .9):.1f} "
              f"p99 {quantile(rec, .99):.1f} max {max(rec):.1f}")
    x = col("replay_x")
    if x:
        print(f"summary replay speed: p50 {statistics.median(col('replay_rate')):.0f} inputs/s, "
              f"{statistics.median(x):.2f}x the logged rate (min {min(x):.2f}x)")
    lost = {k: sum(col(k)) for k in ("lost", "lost_in_flight", "lost_window", "lost_link",
                                       "lost_unreplayed", "lost_unlogged", "lost_at_end")}
    print(f"summary loss: {lost['lost']} packets over {n} rounds: in flight "
          f"{lost['lost_in_flight']}, window {lost['lost_window']}, link {lost['lost_link']}, "
          f"unreplayed {lost['lost_unreplayed']}, unlogged {lost['lost_unlogged']}, at the end "
          f"{lost['lost_at_end']}")
    early = sum(bool(r.get("premature")) for r in rows)
    if early:
        print(f"summary premature failovers (a heartbeat late on a starved machine, the primary "
              f"fenced): {early} of {n} rounds, verified, left out of the times")
    if a.unordered:
        print(f"summary negative control: ftmb-verify caught {viol} of {n} rounds, it or the "
              f"replica's divergence check {caught}")
    name = "negative-control" if a.unordered else "failover-proc"
    print(f"{name} rounds={n} violations={viol} "
          f"detect_p50_ms={quantile(col('detect_ms'), .5):.1f} "
          f"recovery_p50_ms={quantile(rec, .5):.1f} recovery_max_ms={max(rec, default=float('nan')):.1f} "
          f"replayed_p50={int(quantile(col('replayed'), .5)) if col('replayed') else 0}")
    if n != a.rounds:
        print(f"FAIL: {a.rounds - n} rounds left no result")
        return 1
    if a.unordered:
        # Every round must be caught, by ftmb-verify or by the replica's own
        # divergence check; and ftmb-verify alone in at least half of them,
        # to show its teeth (a replay without the order can happen to leave
        # the released counts as they were, when few accesses were reordered).
        if caught < n or viol < max(1, (n + 1) // 2):
            print(f"FAIL: negative control: of {n} rounds replayed without the logged order, "
                  f"ftmb-verify caught {viol} and the divergence check with it {caught}")
            return 1
        return 0
    return 1 if a.failed_rounds else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("round", "summary"))
    p.add_argument("--work")
    p.add_argument("--round", type=int)
    p.add_argument("--mb")
    p.add_argument("--kind")
    p.add_argument("--kill-after-ms", type=int)
    p.add_argument("--verify-rc", type=int)
    p.add_argument("--go-wall-ns", type=int)
    p.add_argument("--results", required=True)
    p.add_argument("--rounds", type=int)
    p.add_argument("--failed-rounds", type=int, default=0)
    p.add_argument("--unordered", action="store_true")
    a = p.parse_args()
    return round_main(a) if a.what == "round" else summary_main(a)


if __name__ == "__main__":
    sys.exit(main())

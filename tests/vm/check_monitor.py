# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks one monitor VM run from its evidence and prints what it measured.

  check_monitor.py MODE VHOST_JSON CONSOLE_LOG GEN_JSON...

- every test frame each generator run sent came back once, intact (no
  duplicate, no bad IP checksum, nothing that is not a test frame);
- ftmb-vhost: the instance still runs, every output taken from the guest was
  released, none is held, none dropped at the external port, and no thread
  sent on another thread's TX queue (the workers are pinned to their XPS
  CPUs);
- the guest: worker q received exactly what ftmb-vhost handed to RX queue q
  (the AF_PACKET sockets' queue filters), dropped nothing, found no frame
  without its input tag, and had no send refused (the raised MTU);
- mode ftmb: one PAL per input (the monitor takes its lock once a packet).
"""
import json
import re
import sys


def fail(msg):
    print(f"check_monitor: FAIL: {msg}")
    sys.exit(1)


def main():
    mode, vhost_json, console = sys.argv[1:4]
    gens = sys.argv[4:]
    for path in gens:
        j = json.load(open(path))
        sent, rx = j["tx"]["whole_run"]["packets"], j["rx"]
        if rx["unique_whole_run"] != sent or rx["duplicates"] or rx["bad_ip_checksum"] \
                or rx["non_test"] or rx["not_sent_by_us"]:
            fail(f"{path}: sent {sent}, back {rx}")
    inst = json.load(open(vhost_json))["instances"][0]
    queues = inst["queues"]
    if inst["state"] != "running":
        fail(f"ftmb-vhost stopped the instance: {inst['stop_reason']}")
    outputs = sum(q["outputs"] for q in queues)
    released = sum(q["released"] for q in queues)
    held = sum(q["held_now"] for q in queues)
    if released != outputs or held or inst["ext_tx_drops"] or inst["foreign_txq"]:
        fail(f"ftmb-vhost: outputs {outputs}, released {released}, held {held}, "
             f"external drops {inst['ext_tx_drops']}, on a foreign TX queue {inst['foreign_txq']}")
    threads = {}
    pat = re.compile(r"ftmb-monitor: thread (\d+): rx (\d+) tx (\d+) dropped (\d+) "
                     r"untagged (\d+) tx-failed (\d+) events (\d+)")
    for line in open(console, errors="replace"):
        m = pat.search(line)
        if m:
            threads[int(m.group(1))] = [int(x) for x in m.groups()[1:]]
    if len(threads) != len(queues):
        fail(f"the guest printed {len(threads)} worker summaries for {len(queues)} queues")
    for q in queues:
        rx, tx, dropped, untagged, tx_failed, events = threads[q["queue"]]
        if rx != q["inputs"] or dropped or untagged or tx_failed:
            fail(f"queue {q['queue']}: ftmb-vhost handed {q['inputs']} inputs, the guest's "
                 f"worker received {rx}, dropped {dropped}, untagged {untagged}, "
                 f"tx-failed {tx_failed}")
        if mode == "ftmb" and q["pals"] != q["inputs"]:
            fail(f"queue {q['queue']}: {q['inputs']} inputs but {q['pals']} PALs logged")
    if min(q["inputs"] for q in queues) == 0:
        fail("a queue got no input: use more flows")
    print(f"check_monitor: {mode}: {sum(q['inputs'] for q in queues)} inputs "
          f"(per queue {[q['inputs'] for q in queues]}, each worker took exactly its own), "
          f"{released} released, 0 held, 0 on a foreign TX queue, PALs "
          f"{[q['pals'] for q in queues]}, announced {inst['announced']}")


main()

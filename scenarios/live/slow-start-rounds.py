#!/usr/bin/env python3
"""Slow start round by round, from a capture at the sender (issue 16's Linux/netlab comparison).

    scenarios/live/slow-start-rounds.py CAPTURE SENDER_IP [SECONDS]

A round ends when the cumulative ACK passes what the sender had sent when the round began. For
each round: when it began (ms after the first data), the flight then (segments of 1448 bytes),
the ACKs in it, and how long its ACKs kept arriving less than 2 ms apart from its start (the train
Linux's HyStart measures). Works on the live runs' pcaps (Linux) and netlab's own alike. Needs
tshark.
"""
import subprocess
import sys

MSS = 1448


def rows(capture):
    fields = ["frame.time_relative", "ip.src", "tcp.seq", "tcp.len", "tcp.ack"]
    cmd = ["tshark", "-r", capture, "-Y", "tcp", "-T", "fields"] + sum((["-e", f] for f in fields), [])
    for line in subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines():
        t, src, seq, length, ack = (line.split("\t") + [""] * 5)[:5]
        yield float(t), src, int(seq or 0), int(length or 0), int(ack or 0)


def rounds(capture, sender, seconds):
    snd_nxt, t0, cur, out = 0, None, None, []
    for t, src, seq, length, ack in rows(capture):
        if src == sender:
            if length > 0:
                t0 = t if t0 is None else t0
                snd_nxt = max(snd_nxt, seq + length)
            continue
        if t0 is None or t - t0 > seconds:
            continue
        t -= t0
        if cur is None or ack > cur["end"]:
            if cur:
                out.append(cur)
            cur = {"start": t, "last": t, "end": snd_nxt, "train": 0.0, "acks": 0,
                   "flight": (snd_nxt - ack) // MSS, "broken": False}
        cur["acks"] += 1
        if not cur["broken"] and t - cur["last"] <= 0.002:
            cur["last"], cur["train"] = t, t - cur["start"]
        elif t - cur["last"] > 0.002:
            cur["broken"] = True
    return out + ([cur] if cur else [])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    for r in rounds(sys.argv[1], sys.argv[2], seconds):
        print(f"round at {r['start'] * 1000:7.1f} ms: flight {r['flight']:4d} segments, "
              f"{r['acks']:4d} ACKs, unbroken train {r['train'] * 1000:5.1f} ms")


if __name__ == "__main__":
    main()

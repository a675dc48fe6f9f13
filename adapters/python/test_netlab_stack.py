"""Tests of netlab_stack.py: the codec against the bytes of docs/stack-protocol.md section 7, the
base class's conversation, and the example PingResponder. Run: python3 -m unittest -v (in this
directory)."""

import io
import os
import re
import struct
import subprocess
import sys
import unittest

import netlab_stack as ns

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "..", "docs", "stack-protocol.md")

# The worked example of docs/stack-protocol.md section 7, block by block (the hex of each line).
STEP1 = """
00 00 00 09 02  00 00 00 00 00 0f 42 40
00 00 00 13 04  00 00 00 01  03
                0a 00 00 01 00 00
                0a 00 00 02 00 50
                00
00 00 00 01 06
"""
ANSWER1 = """
00 00 00 0a 84  00 00 00 01  00  00 00 00 01
00 00 00 2d 83  45 00 00 2c 00 01 40 00 40 06 26 c9
                0a 00 00 01 0a 00 00 02
                c0 00 00 50 12 34 56 78 00 00 00 00
                60 02 ff ff 5b 27 00 00 02 04 05 b4
00 00 00 09 87  00 00 00 00 3b aa 0c 40
00 00 00 01 88
"""
STEP2 = """
00 00 00 09 02  00 00 00 00 00 a7 d8 c0
00 00 00 2d 03  45 00 00 2c 00 01 40 00 40 06 26 c9
                0a 00 00 02 0a 00 00 01
                00 50 c0 00 9a bc de f0 12 34 56 79
                60 12 ff ff e1 68 00 00 02 04 05 b4
00 00 00 01 06
"""
ANSWER2 = """
00 00 00 29 83  45 00 00 28 00 02 40 00 40 06 26 cc
                0a 00 00 01 0a 00 00 02
                c0 00 00 50 12 34 56 79 9a bc de f1
                50 10 ff ff f9 25 00 00
00 00 00 07 85  00 00 00 01  06  00
00 00 00 12 86  00 00 00 01  04
                0a 00 00 01 c0 00  0a 00 00 02 00 50
00 00 00 09 87  ff ff ff ff ff ff ff ff
00 00 00 01 88
"""

HEX = re.compile(r"^[0-9a-f]{2}$")


def unhex(block: str) -> bytes:
    """The bytes of a block of hex lines; a line's hex ends at three spaces or a word that is not hex
    (the document puts its comments after at least three spaces)."""
    out = bytearray()
    for line in block.splitlines():
        for word in re.split(r"\s{3,}", line.strip())[0].split():
            if not HEX.match(word):
                break
            out.append(int(word, 16))
    return bytes(out)


def doc_blocks() -> list:
    """The code blocks of section 7 of docs/stack-protocol.md, as bytes."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## 7.", 1)[1].split("## 8.", 1)[0]
    return [unhex(b) for b in section.split("```")[1::2]]


DEFAULTS = ns.TcpConfig(
    send_buffer=262144,
    recv_buffer=262144,
    mss=1460,
    nagle=True,
    delayed_ack=True,
    sack=True,
    window_scaling=True,
    timestamps=False,
    congestion_control=0,
    delayed_ack_timeout=40_000_000,
    rto_min=200_000_000,
    rto_max=60_000_000_000,
    rto_initial=1_000_000_000,
    max_retransmissions=15,
    max_syn_retransmissions=6,
    msl=30_000_000_000,
    keepalive=0,
    initial_window_segments=10,
)


def hello(version=1) -> bytes:
    return ns.Hello(version, 42, 1500, "h2", [("10.0.0.2", 24)], DEFAULTS).encode()


def step(now, *inputs) -> bytes:
    return ns.Time(now).encode() + b"".join(i.encode() for i in inputs) + ns.End().encode()


def answers(data: bytes, calls=None) -> list:
    return [ns.decode_answer(t, b, calls) for t, b in ns.split_messages(data)]


class WorkedExample(unittest.TestCase):
    """Section 7: an active open, byte for byte, in both directions."""

    def test_the_blocks_here_are_the_documents(self):
        if not os.path.exists(DOC):
            self.skipTest(f"{DOC} is not in this checkout")
        self.assertEqual(doc_blocks(), [unhex(b) for b in (STEP1, ANSWER1, STEP2, ANSWER2)])

    def test_step1_decodes_and_encodes_back(self):
        data = unhex(STEP1)
        msgs = [ns.decode_request(t, b) for t, b in ns.split_messages(data)]
        local, remote = ns.Addr("10.0.0.1", 0), ns.Addr("10.0.0.2", 80)
        self.assertEqual(msgs, [ns.Time(1_000_000), ns.Call(1, ns.CONNECT, local=local, remote=remote), ns.End()])
        self.assertEqual(b"".join(m.encode() for m in msgs), data)

    def test_answer1_decodes_and_encodes_back(self):
        data = unhex(ANSWER1)
        msgs = answers(data, {1: ns.CONNECT})
        self.assertEqual(msgs[0], ns.Result(1, ns.OK, socket=1))
        self.assertIsInstance(msgs[1], ns.Datagram)
        self.assertEqual(len(msgs[1].data), 44)
        self.assertEqual(msgs[2:], [ns.Wake(1_001_000_000), ns.Done()])
        self.assertEqual(b"".join(m.encode() for m in msgs), data)

    def test_the_documents_checksums_agree_with_ours(self):
        for block in (ANSWER1, STEP2, ANSWER2):
            for t, body in ns.split_messages(unhex(block)):
                if t in (ns.DATAGRAM, 0x83):
                    ip = ns.Ipv4.parse(body)
                    self.assertEqual(ns.checksum(body[:20]), 0)
                    self.assertEqual(ns.checksum(ip.pseudo_header(len(ip.payload)) + ip.payload), 0)
                    self.assertEqual(ip.emit(), body, "re-emitting gives the same header")

    def test_step2_and_answer2_decode_and_encode_back(self):
        data = unhex(STEP2)
        msgs = [ns.decode_request(t, b) for t, b in ns.split_messages(data)]
        self.assertEqual(msgs[0], ns.Time(11_000_000))
        self.assertEqual(ns.Ipv4.parse(msgs[1].data).src, "10.0.0.2")
        self.assertEqual(b"".join(m.encode() for m in msgs), data)
        data = unhex(ANSWER2)
        msgs = answers(data)
        local, remote = ns.Addr("10.0.0.1", 49152), ns.Addr("10.0.0.2", 80)
        self.assertEqual(msgs[1], ns.Event(1, ns.WRITABLE | ns.CONNECTED, 0))
        self.assertEqual(msgs[2], ns.State(1, ns.STATES.index("ESTABLISHED"), local, remote))
        self.assertEqual(msgs[3:], [ns.Wake(ns.NO_WAKE), ns.Done()])
        self.assertEqual(b"".join(m.encode() for m in msgs), data)


class Codec(unittest.TestCase):
    def test_hello_and_its_config_round_trip(self):
        data = hello()
        self.assertEqual(len(data), 4 + 1 + 2 + 8 + 2 + (2 + 2) + 1 + 5 + 72)
        (msg,) = [ns.decode_request(t, b) for t, b in ns.split_messages(data)]
        self.assertEqual(msg, ns.Hello(1, 42, 1500, "h2", [("10.0.0.2", 24)], DEFAULTS))

    def test_every_call_round_trips(self):
        a, b = ns.Addr("10.0.0.2", 7), ns.Addr("10.0.0.1", 0)
        calls = [
            ns.Call(1, ns.LISTEN, local=a, backlog=4, config=DEFAULTS),
            ns.Call(2, ns.ACCEPT, socket=3),
            ns.Call(3, ns.CONNECT, local=b, remote=a),
            ns.Call(4, ns.SEND, socket=3, data=b"hello"),
            ns.Call(5, ns.RECV, socket=3, max=4096),
            ns.Call(6, ns.SHUTDOWN_WRITE, socket=3),
            ns.Call(7, ns.CLOSE, socket=3),
            ns.Call(8, ns.ABORT, socket=3),
            ns.Call(9, ns.SEND_SPACE, socket=3),
        ]
        for c in calls:
            ((t, body),) = ns.split_messages(c.encode())
            self.assertEqual(ns.decode_request(t, body), c)

    def test_results_decode_by_their_calls_op(self):
        ops = {1: ns.SEND, 2: ns.RECV, 3: ns.RECV, 4: ns.ACCEPT, 5: ns.CLOSE, 6: ns.SEND_SPACE}
        results = [
            ns.Result(1, ns.OK, count=1000),
            ns.Result(2, ns.OK, data=b"abc"),
            ns.Result(3, ns.OK, data=b""),
            ns.Result(4, ns.WOULD_BLOCK),
            ns.Result(5, ns.ERROR, error=ns.INVALID_SOCKET),
            ns.Result(6, ns.OK, count=65536),
        ]
        data = b"".join(r.encode() for r in results)
        self.assertEqual(answers(data, ops), results)

    def test_malformed_messages_are_protocol_errors(self):
        bad = [
            (ns.TIME, b"\x00" * 7),  # too short
            (ns.TIME, b"\x00" * 9),  # too long
            (0x09, b""),  # unknown type
            (ns.CALL, struct.pack(">IBI", 1, ns.CLOSE, 0)),  # socket id 0
            (ns.CALL, struct.pack(">IB", 1, 10)),  # unknown op
            (ns.CALL, struct.pack(">IBII", 1, ns.RECV, 1, 0)),  # recv max 0
            (ns.HELLO, struct.pack(">HQH", 1, 0, 1500) + b"\x00\x02\xff\xfe"),  # not UTF-8
        ]
        for t, body in bad:
            with self.assertRaises(ns.ProtocolError, msg=f"{t:#x} {body.hex()}"):
                ns.decode_request(t, body)
        with self.assertRaises(ns.ProtocolError):
            ns.read_message(io.BytesIO(b"\x00\x00\x00\x00"))  # length 0
        with self.assertRaises(ns.ProtocolError):
            ns.read_message(io.BytesIO(b"\x00\x00\x00\x05\x02\x00"))  # ends inside
        self.assertIsNone(ns.read_message(io.BytesIO(b"")))


def ping(seq: int) -> bytes:
    icmp = struct.pack(">BBHHH", 8, 0, 0, 7, seq) + b"netlab"
    icmp = icmp[:2] + struct.pack(">H", ns.checksum(icmp)) + icmp[4:]
    return ns.Ipv4("10.0.0.1", "10.0.0.2", ns.Ipv4.ICMP, icmp, ident=seq).emit()


def syn(seq: int) -> bytes:
    ip = ns.Ipv4("10.0.0.1", "10.0.0.2", ns.Ipv4.TCP, b"")
    seg = struct.pack(">HHIIBBHHH", 40000, 80, seq, 0, 5 << 4, 0x02, 65535, 0, 0)
    seg = seg[:16] + struct.pack(">H", ns.checksum(ip.pseudo_header(len(seg)) + seg)) + seg[18:]
    ip.payload = seg
    return ip.emit()


def converse(stack: ns.Stack, requests: bytes):
    out = io.BytesIO()
    status = stack.run(io.BytesIO(requests), out)
    return status, out.getvalue()


class PingResponderConversation(unittest.TestCase):
    def test_it_answers_a_ping_and_resets_a_syn(self):
        requests = hello() + step(5, ns.Datagram(ping(1))) + step(9, ns.Datagram(syn(1000)))
        status, out = converse(ns.PingResponder(), requests)
        self.assertEqual(status, 0)
        msgs = answers(out)
        self.assertEqual(msgs[0], ns.Ready(1, False, "python-ping-responder"))
        reply = ns.Ipv4.parse(msgs[1].data)
        self.assertEqual((reply.src, reply.dst, reply.protocol), ("10.0.0.2", "10.0.0.1", ns.Ipv4.ICMP))
        self.assertEqual(reply.payload[0], 0, "an echo reply")
        self.assertEqual(reply.payload[4:], struct.pack(">HH", 7, 1) + b"netlab")
        self.assertEqual(ns.checksum(reply.payload), 0)
        self.assertEqual(msgs[2:4], [ns.Wake(ns.NO_WAKE), ns.Done()])
        rst = ns.Ipv4.parse(msgs[4].data)
        sport, dport, seq, ack, _, flags = struct.unpack_from(">HHIIBB", rst.payload)
        self.assertEqual((sport, dport, seq, ack, flags), (80, 40000, 0, 1001, 0x14), "RST,ACK for SYN seq+1")
        self.assertEqual(ns.checksum(rst.pseudo_header(len(rst.payload)) + rst.payload), 0)
        self.assertEqual(msgs[5:], [ns.Wake(ns.NO_WAKE), ns.Done()])

    def test_socket_calls_fail_with_invalid_argument(self):
        call = ns.Call(1, ns.LISTEN, local=ns.Addr("0.0.0.0", 80), backlog=4)
        _, out = converse(ns.PingResponder(), hello() + step(0, call))
        self.assertEqual(answers(out)[1], ns.Result(1, ns.ERROR, error=ns.INVALID_ARGUMENT))

    def test_another_version_is_refused_with_fail(self):
        status, out = converse(ns.PingResponder(), hello(version=2))
        self.assertNotEqual(status, 0)
        self.assertEqual(answers(out), [ns.Fail("unsupported protocol version 2")])

    def test_a_step_that_does_not_start_with_time_fails(self):
        status, out = converse(ns.PingResponder(), hello() + ns.End().encode())
        self.assertNotEqual(status, 0)
        self.assertIn("expected TIME", answers(out)[-1].why)

    def test_the_module_runs_as_a_program(self):
        requests = hello() + step(5, ns.Datagram(ping(2)))
        p = subprocess.run([sys.executable, os.path.join(HERE, "netlab_stack.py")], input=requests,
                           capture_output=True, timeout=30, check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = answers(p.stdout)
        self.assertEqual([type(m) for m in msgs], [ns.Ready, ns.Datagram, ns.Wake, ns.Done])


class DeferredTransmission(unittest.TestCase):
    """READY flag bit 1: datagrams wait for a TRANSMIT input (section 2)."""

    def test_datagrams_wait_for_transmit(self):
        class Held(ns.PingResponder):
            deferred_transmission = True

        requests = hello() + step(5, ns.Datagram(ping(1))) + step(6, ns.Transmit())
        _, out = converse(Held(), requests)
        msgs = answers(out)
        self.assertEqual(msgs[0], ns.Ready(1, False, "python-ping-responder", True))
        self.assertEqual(msgs[1:3], [ns.Wake(ns.NO_WAKE), ns.Done()], "nothing before TRANSMIT")
        self.assertIsInstance(msgs[3], ns.Datagram)
        self.assertEqual(msgs[4:], [ns.Wake(ns.NO_WAKE), ns.Done()])

    def test_ready_flags_round_trip(self):
        for r in (ns.Ready(1, True, "x", False), ns.Ready(1, False, "y", True)):
            ((t, body),) = ns.split_messages(r.encode())
            self.assertEqual(ns.decode_answer(t, body), r)
        with self.assertRaises(ns.ProtocolError):
            ns.decode_answer(ns.READY, b"\x00\x01\x04\x00\x00")


class Readiness(unittest.TestCase):
    """Section 6: an EVENT only when a socket's readiness differs from the last one sent."""

    def test_events_go_out_on_change_only(self):
        class Flip(ns.Stack):
            def on_timeout(self, now):
                self.set_readiness(1, ns.WRITABLE if now < 20 else ns.WRITABLE | ns.READABLE)

            def next_wake(self):
                return self.now + 10

        requests = b"".join(step(t, ns.Timeout()) for t in (0, 10, 20))
        _, out = converse(Flip(), hello() + requests)
        msgs = answers(out)[1:]
        self.assertEqual(
            msgs,
            [
                ns.Event(1, ns.WRITABLE), ns.Wake(10), ns.Done(),
                ns.Wake(20), ns.Done(),
                ns.Event(1, ns.WRITABLE | ns.READABLE), ns.Wake(30), ns.Done(),
            ],
        )


if __name__ == "__main__":
    unittest.main()

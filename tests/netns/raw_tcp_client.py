#!/usr/bin/env python3
"""A minimal user-space TCP client on a raw socket (AF_PACKET), standard library only: what a
student's lab stack does on h1-eth0 of scenarios/live/lab-stack.toml. It resolves the gateway with
ARP, opens a connection (SYN, SYN-ACK, ACK), sends one message, reads the answer until the server's
FIN, acknowledges every segment, and closes. Lost segments are sent again after a second.

    ip netns exec netlab-h1 python3 raw_tcp_client.py h1-eth0 10.0.1.2 10.0.1.1 10.0.2.2 5000 hello

Prints what the server answered; exits 1 if it was not "server echoes: " + the message.
"""
import random
import socket
import struct
import sys
import time

ETH_P_ALL, ETH_ARP, ETH_IP = 0x0003, b"\x08\x06", b"\x08\x00"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
RETRY = 1.0


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Link:
    """Ethernet frames on one interface."""

    def __init__(self, iface):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.sock.settimeout(0.1)
        with open("/sys/class/net/%s/address" % iface) as f:
            self.mac = bytes.fromhex(f.read().strip().replace(":", ""))

    def send(self, dst_mac, ethertype, payload):
        self.sock.send(dst_mac + self.mac + ethertype + payload)

    def recv(self):
        """The next frame addressed to us (or broadcast), or None after a short wait."""
        try:
            f = self.sock.recv(65535)
        except socket.timeout:
            return None
        return f if f[0:6] in (self.mac, b"\xff" * 6) and f[6:12] != self.mac else None


def resolve(link, my_ip, ip):
    """The MAC of `ip`, asked with ARP requests until it answers."""
    for _ in range(10):
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + link.mac + my_ip + b"\0" * 6 + ip
        link.send(b"\xff" * 6, ETH_ARP, arp)
        deadline = time.time() + RETRY
        while time.time() < deadline:
            f = link.recv()
            if f and f[12:14] == ETH_ARP and f[20:22] == b"\x00\x02" and f[28:32] == ip:
                return f[22:28]
    sys.exit("no ARP answer from %s" % socket.inet_ntoa(ip))


class Conn:
    def __init__(self, link, gw_mac, my_ip, dst_ip, dst_port):
        self.link, self.gw_mac, self.my_ip, self.dst_ip = link, gw_mac, my_ip, dst_ip
        self.sport, self.dport = random.randint(20000, 60000), dst_port
        self.iss = random.randint(0, 2**32 - 1)
        self.snd_nxt, self.rcv_nxt = self.iss, 0

    def send(self, flags, seq, payload=b""):
        opts = struct.pack("!BBH", 2, 4, 1460) if flags & SYN else b""
        off = (20 + len(opts)) // 4 << 4
        hdr = struct.pack("!HHIIBBHHH", self.sport, self.dport, seq & 0xFFFFFFFF, self.rcv_nxt & 0xFFFFFFFF,
                          off, flags, 65535, 0, 0) + opts
        pseudo = self.my_ip + self.dst_ip + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
        seg = bytearray(hdr + payload)
        seg[16:18] = struct.pack("!H", checksum(pseudo + bytes(seg)))
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), random.randint(0, 65535), 0x4000, 64, 6, 0,
                         self.my_ip, self.dst_ip)
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        self.link.send(self.gw_mac, ETH_IP, ip + bytes(seg))

    def segment(self):
        """The next segment of this connection: (seq, ack, flags, payload), or None."""
        f = self.link.recv()
        if not f or f[12:14] != ETH_IP:
            return None
        ip = f[14:]
        ihl, total = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0]
        ip = ip[:total]
        if ip[9] != 6 or ip[12:16] != self.dst_ip or ip[16:20] != self.my_ip:
            return None
        tcp = ip[ihl:]
        sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
        if (sport, dport) != (self.dport, self.sport):
            return None
        return seq, ack, flags, tcp[(off >> 4) * 4:]


def main():
    iface, my_ip, gw, dst, port, message = sys.argv[1:7]
    my_ip, gw, dst, port = socket.inet_aton(my_ip), socket.inet_aton(gw), socket.inet_aton(dst), int(port)
    link = Link(iface)
    c = Conn(link, resolve(link, my_ip, gw), my_ip, dst, port)
    data = message.encode()
    # Handshake: SYN until a SYN-ACK for it arrives.
    for _ in range(10):
        c.send(SYN, c.iss)
        deadline, synack = time.time() + RETRY, None
        while time.time() < deadline and not synack:
            s = c.segment()
            if s and s[2] & (SYN | ACK) == SYN | ACK and s[1] == (c.iss + 1) & 0xFFFFFFFF:
                synack = s
        if synack:
            break
    else:
        sys.exit("no SYN-ACK")
    c.rcv_nxt = (synack[0] + 1) & 0xFFFFFFFF
    una, data_end = c.iss + 1, c.iss + 1 + len(data)
    received, fin_seen, fin_sent, last_sent = b"", False, None, 0.0
    give_up = time.time() + 30
    while time.time() < give_up:
        now = time.time()
        if una < data_end and now - last_sent >= RETRY:
            c.send(ACK | PSH, una, data[una - c.iss - 1:])
            last_sent = now
        if fin_seen and una >= data_end and (fin_sent is None or now - fin_sent >= RETRY):
            c.send(FIN | ACK, data_end)
            fin_sent = now
        s = c.segment()
        if not s:
            continue
        seq, ack, flags, payload = s
        if flags & RST:
            sys.exit("the server reset the connection")
        if flags & ACK:
            # Acknowledged bytes (the ack field is 32 bits; our offsets are small).
            acked = c.iss + ((ack - c.iss) & 0xFFFFFFFF)
            if acked > una:
                una = min(acked, data_end + 1)
        if una > data_end:
            break  # our FIN is acknowledged: done
        if flags & SYN:
            c.send(ACK, una)  # our ACK of the SYN-ACK was lost: say it again
            continue
        if seq == c.rcv_nxt:
            received += payload
            c.rcv_nxt = (c.rcv_nxt + len(payload) + (1 if flags & FIN else 0)) & 0xFFFFFFFF
            fin_seen = fin_seen or bool(flags & FIN)
        if payload or flags & FIN:
            c.send(ACK, data_end + (1 if fin_sent else 0))
    text = received.decode(errors="replace")
    print("received:", text.strip())
    if text != "server echoes: " + message:
        sys.exit("unexpected answer")


if __name__ == "__main__":
    main()

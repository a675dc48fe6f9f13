"""Turns the pcap files under DIR into fuzz inputs: for `wire`, each frame (Ethernet parser) and its
IPv4 packet and TCP/UDP/ICMP payload (each with the mode byte of its parser); for `world_frames`, the
first 64 frames of each capture as one input of records [flags, delay, length, bytes].
Usage: python3 pcap_to_corpus.py DIR CORPUS_DIR"""
import hashlib
import os
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 24  # global header
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        yield data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl


def save(directory, blob):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, hashlib.sha1(blob).hexdigest()), "wb") as f:
        f.write(blob)


def main(src, corpus):
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith(".pcap"):
                continue
            records = b""
            for i, fr in enumerate(frames(os.path.join(root, name))):
                if i < 200:
                    save(f"{corpus}/wire", b"\x00" + fr)
                    if len(fr) > 34 and fr[12:14] == b"\x08\x00":
                        ip = fr[14:]
                        save(f"{corpus}/wire", b"\x82" + ip)
                        ihl = (ip[0] & 15) * 4
                        mode = {6: 0x83, 17: 0x84, 1: 0x85}.get(ip[9])
                        if mode:
                            save(f"{corpus}/wire", bytes([mode]) + ip[ihl:])
                if i < 64:
                    records += bytes([0, 1]) + struct.pack(">H", len(fr)) + fr
            if records:
                save(f"{corpus}/world_frames", records)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

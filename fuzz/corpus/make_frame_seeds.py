#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/frame_fuzz.cc into fuzz/corpus/frame_fuzz/.

Frames come from tests/system/fwtest.encode_frame, the encoder written from
docs/protocol.md independently of the C++ one, signed with the fuzz target's key (32 bytes
of 0x42, key id "fleet"). Each seed is one mode byte and a frame: 0 = bytes as they are (no
key: only the checks before the MAC), 1 = re-signed by the target (a key holder: the
authenticated parser). Run it again after a change to the format; the files are committed.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "system"))
from fwtest import encode_frame  # noqa: E402

KEY = b"\x42" * 32
BOOT = bytes(range(16))
TS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
OUT = os.path.join(HERE, "frame_fuzz")


def frame(source="web-01", **kw):
    kw.setdefault("ts_ms", TS)
    return encode_frame(KEY, kw.pop("key_id", "fleet"), source, kw.pop("boot", BOOT),
                        kw.pop("seq", 1), **kw)


def resized(f, total):
    """`f` with its declared total length set to `total` (the MAC is re-signed in mode 1)."""
    return f[:4] + struct.pack(">H", total) + f[6:]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    hb = frame()
    big_checks = [(f"check-{i:03d}", i % 4, "x" * 40) for i in range(18)]
    seeds = {
        "heartbeat": hb,
        "heartbeat_labels_checks": frame(labels={"dc": "dc1", "role": "web", "team": "ops"},
                                         checks=[("disk", 1, "/var 91% full"), ("ntp", 0, "")],
                                         version="0.1.0"),
        "goodbye": frame(seq=2, goodbye="SIGTERM"),
        "near_max_size": frame(checks=big_checks, labels={"k": "v" * 100}),
        "ts_int64_min": frame(ts_ms=-(2**63)),
        "ts_int64_max": frame(ts_ms=2**63 - 1),
        "ts_zero": frame(ts_ms=0),
        "interval_max": frame(interval_ms=2**32 - 1),
        "interval_zero": frame(interval_ms=0),
        "seq_max": frame(seq=2**64 - 1),
        "id_64_bytes": frame(source="s" * 64),
        "other_key_id": frame(key_id="other"),
        "unknown_key_id": frame(key_id="nobody"),
        "truncated_header": hb[:5],
        "truncated_body": hb[:40],
        "declared_longer": resized(hb, len(hb) + 10),
        "declared_shorter": resized(hb, len(hb) - 10),
        "bad_magic": b"XW" + hb[2:],
        "bad_version": hb[:2] + b"\x03" + hb[3:],
        "version_zero": hb[:2] + b"\x00" + hb[3:],
        # Version 2: checks in full with their digest, or only the digest (unchanged).
        "v2_full": frame(wire=2, digest=0x0123456789ABCDEF,
                         checks=[("disk", 1, "/var 91% full"), ("ntp", 0, "")]),
        "v2_unchanged": frame(wire=2, unchanged=True, digest=0x0123456789ABCDEF),
        "v2_goodbye": frame(wire=2, seq=2, goodbye="SIGTERM", digest=1),
        "v2_bad_mode": (lambda f: f[:-32 - 11] + b"\x07" + f[-32 - 10:])(
            frame(wire=2, digest=5)),
        "v2_over_datagram": frame(wire=2, digest=9,
                                  checks=[(f"c{i:03d}", 0, "y" * 200) for i in range(20)]),
        "unknown_type": hb[:3] + b"\x07" + hb[4:],
        "empty": b"",
    }
    # A heartbeat whose reason field is not empty (malformed since #10): a goodbye with
    # its type byte set to heartbeat.
    bye = frame(seq=3, goodbye="SIGTERM")
    seeds["heartbeat_with_reason"] = bye[:3] + b"\x01" + bye[4:]
    for name, data in seeds.items():
        for mode in (0, 1):
            with open(os.path.join(OUT, f"{name}.m{mode}"), "wb") as f:
                f.write(bytes([mode]) + data)
    print(f"wrote {2 * len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed inputs for the generic-fuzz-pseries* targets (deterministic).

libFuzzer starts from tiny inputs and grows them slowly; a generic-fuzz
input is a sequence of operations separated by "FUZZ", and on sPAPR every
input first pays for a machine reset and the RTAS enumeration.  These seeds
give it, from the first minute, sequences of the operations that matter
here: MMIO reads/writes into the fuzzable regions, PCI configuration
writes through RTAS, and RTAS calls (config with extended offsets, MSI,
EEH, DDW, DR connectors).  Layouts follow tests/qtest/fuzz/generic_fuzz.c.

usage: make_seeds.py DIR [COUNT]
"""
import os
import random
import struct
import sys

OP_READ, OP_WRITE, OP_PCI_READ, OP_PCI_WRITE, OP_CLOCK_STEP, OP_RTAS = 2, 3, 4, 5, 9, 10
SEP = b"FUZZ"


def op(rng):
    k = rng.random()
    if k < 0.25:
        return bytes([OP_WRITE]) + struct.pack("<BBIQ", rng.randrange(4), rng.randrange(16),
                                               rng.randrange(0x1000), rng.getrandbits(64))
    if k < 0.35:
        return bytes([OP_READ]) + struct.pack("<BBI", rng.randrange(4), rng.randrange(16),
                                              rng.randrange(0x1000))
    if k < 0.6:
        off = rng.choice([0x04, 0x0c, 0x10, 0x18, 0x1c, 0x20, 0x3c, 0x3e, 0x40, 0x48,
                          0x50, 0x58, 0x60, 0x6c, 0x70, 0x78, 0x80, rng.randrange(256)])
        val = rng.choice([0, 0xffffffff, 0x7, 0x400, 0x7c0, 0x3f, rng.getrandbits(32)])
        return bytes([OP_PCI_WRITE]) + struct.pack("<BBBI", rng.randrange(3), rng.randrange(8),
                                                   off, val)
    if k < 0.65:
        return bytes([OP_PCI_READ]) + struct.pack("<BBB", rng.randrange(3), rng.randrange(8),
                                                  rng.randrange(256))
    if k < 0.7:
        return bytes([OP_CLOCK_STEP])
    raw = [rng.choice([0, 1, 2, 3, rng.randrange(64), rng.getrandbits(32)]) for _ in range(6)]
    return bytes([OP_RTAS]) + struct.pack("<BBHB3x6I", rng.randrange(18), rng.randrange(8),
                                          rng.randrange(0x1000), rng.randrange(256), *raw)


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        rng = random.Random(i)
        data = SEP.join(op(rng) for _ in range(rng.randint(4, 40)))
        with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

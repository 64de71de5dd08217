#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed inputs for the generic-fuzz-pseries* targets (deterministic).

libFuzzer starts from tiny inputs and grows them slowly; a generic-fuzz
input is a sequence of operations separated by "FUZZ", and on sPAPR every
input first pays for a machine reset and the RTAS enumeration.  These seeds
give it, from the first minute, sequences of the operations that matter
here: MMIO reads/writes into the fuzzable regions, PCI configuration
writes through RTAS, RTAS calls (config with extended offsets, MSI,
EEH, DDW, DR connectors) and TCE operations; and seeds that make the
endpoints DMA through the PHB's TCE table (which the fuzzer maps 1:1
onto guest RAM): an e1000/e1000e transmit ring, an NVMe admin queue, a
virtio queue (legacy and modern), each tried on the first fuzzable
regions.  Layouts follow tests/qtest/fuzz/generic_fuzz.c and
generic_fuzz_spapr.c (OP_RTAS and OP_TCE follow the ten generic
operations on sPAPR machines only).

usage: make_seeds.py DIR [COUNT]
"""
import os
import random
import struct
import sys

OP_READ, OP_WRITE, OP_PCI_READ, OP_PCI_WRITE, OP_CLOCK_STEP, OP_RTAS, OP_TCE = \
    2, 3, 4, 5, 9, 10, 11
SEP = b"FUZZ"
# The operations' argument structs as the C compiler lays them out (natural
# alignment, little-endian host): an argument shorter than its struct makes
# the operation do nothing
WRITE = "<BBxxIQ"       # size, base (region), offset, value
READ = "<BBxxI"         # size, base, offset
PCI_WRITE = "<BBBxI"    # size, base (device), offset, value
TCE = "<BBBBIIHxx"      # phb, kind, perm, window, ioba, gpa, npages


def op(rng):
    k = rng.random()
    if k < 0.25:
        return bytes([OP_WRITE]) + struct.pack(WRITE, rng.randrange(4), rng.randrange(16),
                                               rng.randrange(0x1000), rng.getrandbits(64))
    if k < 0.35:
        return bytes([OP_READ]) + struct.pack(READ, rng.randrange(4), rng.randrange(16),
                                              rng.randrange(0x1000))
    if k < 0.6:
        off = rng.choice([0x04, 0x0c, 0x10, 0x18, 0x1c, 0x20, 0x3c, 0x3e, 0x40, 0x48,
                          0x50, 0x58, 0x60, 0x6c, 0x70, 0x78, 0x80, rng.randrange(256)])
        val = rng.choice([0, 0xffffffff, 0x7, 0x400, 0x7c0, 0x3f, rng.getrandbits(32)])
        return bytes([OP_PCI_WRITE]) + struct.pack(PCI_WRITE, rng.randrange(3), rng.randrange(8),
                                                   off, val)
    if k < 0.65:
        return bytes([OP_PCI_READ]) + struct.pack("<BBB", rng.randrange(3), rng.randrange(8),
                                                  rng.randrange(256))
    if k < 0.7:
        return bytes([OP_CLOCK_STEP])
    if k < 0.75:
        return bytes([OP_TCE]) + struct.pack(TCE, rng.randrange(2), rng.randrange(3),
                                             rng.randrange(4), rng.randrange(2),
                                             rng.randrange(1 << 18), rng.randrange(1 << 17),
                                             rng.randrange(512))
    raw = [rng.choice([0, 1, 2, 3, rng.randrange(64), rng.getrandbits(32)]) for _ in range(6)]
    return bytes([OP_RTAS]) + struct.pack("<BBHB3x6I", rng.randrange(18), rng.randrange(8),
                                          rng.randrange(0x1000), rng.randrange(256), *raw)


def write(size, region, offset, value):
    """OP_WRITE of 1 << size bytes at @offset of fuzzable region @region.
    qtest stores in the guest's (big-endian) byte order and PCI registers
    are little-endian: a pseries guest byte-reverses, so do the seeds."""
    n = 1 << size
    value = int.from_bytes(value.to_bytes(n, "little"), "big")
    return bytes([OP_WRITE]) + struct.pack(WRITE, size, region, offset, value)


# Guest RAM the devices are pointed at (mapped 1:1 by the DMA window)
RING, BUF = 0x100000, 0x200000


def dma_seeds(region):
    """Register sequences that make a device DMA, if @region is its BAR"""
    e1000_tx = [write(2, region, 0x3800, RING), write(2, region, 0x3804, 0),
                write(2, region, 0x3808, 0x80), write(2, region, 0x3810, 0),
                write(2, region, 0x0400, 0x2), write(2, region, 0x3818, 1)]
    nvme_admin = [write(2, region, 0x24, 0x000f000f), write(3, region, 0x28, RING),
                  write(3, region, 0x30, BUF), write(2, region, 0x14, 0x00460001),
                  write(2, region, 0x1000, 1)]
    # legacy virtio (I/O BAR): queue 0 at RING, driver ok, notify queue 0
    virtio_legacy = [write(1, region, 0x0e, 0), write(2, region, 0x08, RING >> 12),
                     write(0, region, 0x12, 0x7), write(1, region, 0x10, 0)]
    # modern virtio common configuration, then the notification region
    virtio_modern = [write(0, region, 0x14, 0x3), write(1, region, 0x16, 0),
                     write(3, region, 0x20, RING), write(3, region, 0x28, RING + 0x1000),
                     write(3, region, 0x30, RING + 0x2000), write(1, region, 0x1c, 1),
                     write(0, region, 0x14, 0xf), write(1, region + 1, 0, 0),
                     write(1, region + 3, 0, 0)]
    return [e1000_tx, nvme_admin, virtio_legacy, virtio_modern]


def main():
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    os.makedirs(out, exist_ok=True)
    for i in range(count):
        rng = random.Random(i)
        data = SEP.join(op(rng) for _ in range(rng.randint(4, 40)))
        with open(os.path.join(out, "seed-%03d" % i), "wb") as f:
            f.write(data)
    for region in range(8):
        for n, ops in enumerate(dma_seeds(region)):
            with open(os.path.join(out, "seed-dma-%d-%d" % (region, n)), "wb") as f:
                f.write(SEP.join(ops))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Print the QEMU arguments of the demo topology, NUL-separated, for the
# tests: topology-args.sh MACHINE DISK_A DISK_B
. "$(dirname "$0")/lib.sh"
. "$TOP/scripts/topology.sh"
topology "$@"
printf '%s\0' "${TOPO[@]}"

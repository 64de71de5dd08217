# SPDX-License-Identifier: GPL-2.0-or-later
# pseries-pcie: a QEMU patch series giving sPAPR guests a PCI Express root bus.
# Run as root on Debian bookworm. See README.md.

SHELL := /bin/bash
S := scripts

.PHONY: all run console check check-long fuzz bench bad-input-doc deps fetch tree retree export build \
        firmware bisect-check upstream checkpatch help clean distclean

all: build firmware

help:
	@echo "make run        build what is missing and start the patched QEMU (main command)"
	@echo "make check      from nothing: deps, fetch, verify, apply, build, all tests"
	@echo "make check-long make check, then sanitizers, fuzzing, 20 migration round trips,"
	@echo "                the hotplug soak and the libvirt end-to-end test (about an hour)"
	@echo "make fuzz       coverage-guided fuzzing under ASan/UBSan (FUZZ_SECONDS per target)"
	@echo "make bench      start-up/FDT/config/boot/IO/RSS, q35 anchor, port breakdown -> build/bench/ (not in check)"
	@echo "make console    the demo guest with an interactive shell"
	@echo "make tree       create build/qemu (upstream + patches/)"
	@echo "make export     export build/qemu upstream..HEAD to patches/"
	@echo "make retree     recreate build/qemu from patches/ (refuses to lose work)"
	@echo "make build      configure and build build/qemu into build/qemu-build"
	@echo "make upstream   build the pristine tarball into build/upstream/qemu-build"
	@echo "make checkpatch run QEMU's checkpatch.pl on every patch"

run:
	bash $(S)/run.sh
console:
	bash $(S)/run.sh --console
check:
	bash $(S)/check.sh
check-long:
	bash $(S)/check-long.sh
fuzz:
	bash $(S)/fuzz.sh
bench:
	bash $(S)/bench.sh
bad-input-doc:
	BAD_INPUT_WRITE_DOC=1 bash tests/bad-input.sh
deps:
	bash $(S)/deps.sh
fetch: deps
	bash $(S)/fetch.sh
tree: fetch
	bash $(S)/tree.sh
retree: fetch
	bash $(S)/tree.sh --reset
export:
	bash $(S)/export.sh
build: tree
	bash $(S)/build.sh
firmware: build
	bash $(S)/firmware.sh
upstream: fetch
	bash $(S)/tree.sh --upstream
	bash $(S)/build.sh --upstream
	bash $(S)/firmware.sh
bisect-check:
	bash scripts/bisect-check.sh

checkpatch:
	@. $(S)/lib.sh && while read -r p; do \
	  echo "== $$(basename $$p)"; checkpatch_patch "$$p" || exit 1; done < <(patch_files)
clean:
	rm -rf build/qemu-build build/upstream/qemu-build build/times.log
distclean:
	rm -rf build

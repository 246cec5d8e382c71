# virt-micropython: MicroPython for QEMU's virt machine.
#
#   make            build build/$(BOARD)/firmware.elf
#   make run        set up, build and boot to the REPL, with user networking
#   make test       set up, build and run every test
#   make bench      boot, network, serial, CPU, virtmp and storage benchmarks
#                   (figures on stdout and in build/bench.json, bench_net.json,
#                   bench_serial.json, bench_perf.json, bench_virtmp.json,
#                   bench_storage.json, bench_flood.json,
#                   bench_tls.json, bench_tls_icount.json)
#
# MICROPY_TOP=..., LWIP_DIR=... and MBEDTLS_DIR=... use your own trees instead of the
# Debian source packages fetched into deps/.

BOARD ?= VIRT_ARM
TOPDIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
DEPS := $(TOPDIR)/deps
BUILD := $(TOPDIR)/build/$(BOARD)$(if $(filter 1,$(TLS13)),-tls13)
VENV := $(TOPDIR)/build/venv
PYTHON := $(VENV)/bin/python

MICROPY_TOP ?= $(DEPS)/micropython
LWIP_DIR ?= $(DEPS)/lwip
MBEDTLS_DIR ?= $(DEPS)/mbedtls
export MICROPY_TOP LWIP_DIR MBEDTLS_DIR

include boards/$(BOARD)/mpconfigboard.mk

FIRMWARE := $(BUILD)/firmware.elf

# `make run` is `virtmp run` (host/virtmp, run from the checkout with the
# system python3: it needs no other package): slirp user networking (guest
# 10.0.2.15 by DHCP, the host is 10.0.2.2) and forwarded ports, each
# 127.0.0.1:PORT -> the guest's PORT. An APP's main.py may name its ports in
# lines "# hostfwd: tcp 8080"; FWD="tcp:8080 udp:9000" names them by hand.
HOSTFWD_PORT ?= 8080
VIRTIO_TRANSPORT ?= pci
ifneq ($(APP),)
APP_FWD := $(shell sed -n 's/^\# hostfwd: *\(tcp\|udp\) *\([0-9][0-9]*\) *$$/\1:\2/p' $(APP)/main.py 2>/dev/null)
endif
FWD ?= $(or $(APP_FWD),tcp:$(HOSTFWD_PORT))
# Its disk persists between runs, as a board's flash does: build/disk.img,
# made blank on the first run (the firmware formats it with littlefs2 at
# boot). DISK=other.img picks another; `make clean` deletes build/disk.img.
DISK ?= $(TOPDIR)/build/disk.img
DISK_SIZE ?= 64M
# ROMFS=dir (or an image) is mounted at /rom, from QEMU's second flash bank.
VIRTMP_RUN = PYTHONPATH=$(TOPDIR)/host python3 -m virtmp run --board $(BOARD) --firmware $(FIRMWARE) --disk $(DISK) \
	$(if $(ROMFS),--romfs $(abspath $(ROMFS))) \
	--mem $(QEMU_MEM) $(addprefix --fwd ,$(FWD)) --transport $(VIRTIO_TRANSPORT) \
	$(if $(QEMU_EXTRA),-- $(QEMU_EXTRA))

# make test runs the suite on every board, one after another; make BOARD=X
# test (or BOARD in the environment) on X only.
ALL_BOARDS := VIRT_ARM VIRT_AARCH64 VIRT_RV64 VIRT_RV32
TEST_BOARDS ?= $(if $(filter command line environment,$(origin BOARD)),$(BOARD),$(ALL_BOARDS))

# make test: pytest-xdist workers (PYTEST_WORKERS=0 runs the suite in one
# process); a file marked xdist_group runs on one worker.
PYTEST_WORKERS ?= 2

.PHONY: all firmware run test bench setup setup-test deps clean distclean FORCE $(addprefix firmware-,$(ALL_BOARDS))

all: firmware

setup:
	@sh tools/setup.sh build

setup-test:
	@sh tools/setup.sh test $(VENV)

# Fetch only when the default trees are used and not yet unpacked.
deps: setup
ifneq ($(filter $(DEPS)/%,$(MICROPY_TOP) $(LWIP_DIR) $(MBEDTLS_DIR)),)
	@sh tools/fetch-deps.sh $(DEPS)
endif

firmware: deps
	@$(MAKE) --no-print-directory -C ports/virt BOARD=$(BOARD) MICROPY_TOP=$(MICROPY_TOP) APP=$(if $(APP),$(abspath $(APP))) all

run: firmware
	@test -f $(DISK) || { truncate -s $(DISK_SIZE) $(DISK) && echo "make run: new blank disk $(DISK) ($(DISK_SIZE)), formatted at first boot"; }
	$(VIRTMP_RUN)

test: setup-test $(addprefix firmware-,$(TEST_BOARDS))
	@rc=0; for b in $(TEST_BOARDS); do \
		echo "make test: $$b"; \
		VIRT_BOARD=$$b $(PYTHON) -m pytest -q $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup) \
			tests $(PYTEST_ARGS) || { rc=1; echo "make test: $$b FAILED"; }; \
	done; exit $$rc

# A static pattern rule: make looks for no implicit rule for a phony target.
$(addprefix firmware-,$(ALL_BOARDS)): firmware-%: deps
	@$(MAKE) --no-print-directory -C ports/virt BOARD=$* MICROPY_TOP=$(MICROPY_TOP) all

# The benchmarks measure the board make was given (tests/support.py).
BENCH_PYTHON = VIRT_BOARD=$(BOARD) $(PYTHON)

bench: setup-test firmware
	$(BENCH_PYTHON) tests/bench_boot.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench.json
	$(BENCH_PYTHON) tests/bench_net.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_net.json
	$(BENCH_PYTHON) tests/bench_serial.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_serial.json
	$(BENCH_PYTHON) tests/bench_perf.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_perf.json
	$(BENCH_PYTHON) tests/bench_virtmp.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_virtmp.json
	$(BENCH_PYTHON) tests/bench_storage.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_storage.json
	$(BENCH_PYTHON) tests/bench_flood.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_flood.json
	@$(MAKE) --no-print-directory TLS13=1 firmware
	$(BENCH_PYTHON) tests/bench_tls.py --firmware $(FIRMWARE) --tls13-firmware $(FIRMWARE:$(BUILD)/%=$(BUILD)-tls13/%) \
		--json $(TOPDIR)/build/bench_tls.json
	$(BENCH_PYTHON) tests/bench_tls.py --icount --firmware $(FIRMWARE) --tls13-firmware $(FIRMWARE:$(BUILD)/%=$(BUILD)-tls13/%) \
		--json $(TOPDIR)/build/bench_tls_icount.json

clean:
	rm -rf build

distclean: clean
	rm -rf deps

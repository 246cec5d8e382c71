# virt-micropython: MicroPython for QEMU's virt machine.
#
#   make            build build/$(BOARD)/firmware.elf
#   make run        set up, build and boot to the REPL, with user networking
#   make test       set up, build and run every test
#   make bench      boot and network benchmarks (figures on stdout and in
#                   build/bench.json, build/bench_net.json)
#
# MICROPY_TOP=... and LWIP_DIR=... use your own checkouts instead of the
# Debian source packages fetched into deps/.

BOARD ?= VIRT_ARM
TOPDIR := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
DEPS := $(TOPDIR)/deps
BUILD := $(TOPDIR)/build/$(BOARD)
VENV := $(TOPDIR)/build/venv
PYTHON := $(VENV)/bin/python

MICROPY_TOP ?= $(DEPS)/micropython
LWIP_DIR ?= $(DEPS)/lwip
export MICROPY_TOP LWIP_DIR

include boards/$(BOARD)/mpconfigboard.mk

FIRMWARE := $(BUILD)/firmware.elf
QEMU_ARGS = $(QEMU_MACHINE_ARGS) -m $(QEMU_MEM) -nographic \
	-semihosting-config enable=on,target=native

# `make run` networking: slirp user networking (guest 10.0.2.15 by DHCP, the
# host is 10.0.2.2) and one forwarded port, 127.0.0.1:$(HOSTFWD_PORT) -> guest.
# An APP's main.py may name its ports in lines "# hostfwd: tcp 8080".
HOSTFWD_PORT ?= 8080
VIRTIO_TRANSPORT ?= modern
ifneq ($(APP),)
APP_HOSTFWD := $(shell sed -n 's/^\# hostfwd: *\(tcp\|udp\) *\([0-9][0-9]*\) *$$/\1:127.0.0.1:\2-:\2/p' $(APP)/main.py 2>/dev/null)
endif
HOSTFWD ?= $(or $(APP_HOSTFWD),tcp:127.0.0.1:$(HOSTFWD_PORT)-:$(HOSTFWD_PORT))
comma := ,
space := $(subst ,, )
RUN_NET_ARGS = -netdev user,id=n0$(subst $(space),,$(foreach f,$(HOSTFWD),$(comma)hostfwd=$(f))) \
	-device virtio-net-device,netdev=n0
ifeq ($(VIRTIO_TRANSPORT),modern)
RUN_NET_ARGS += -global virtio-mmio.force-legacy=false
endif

.PHONY: all firmware run test bench setup setup-test deps clean distclean FORCE

all: firmware

setup:
	@sh tools/setup.sh build

setup-test:
	@sh tools/setup.sh test $(VENV)

# Fetch only when the default trees are used and not yet unpacked.
deps: setup
ifeq ($(MICROPY_TOP),$(DEPS)/micropython)
	@sh tools/fetch-deps.sh $(DEPS)
endif

firmware: deps
	@$(MAKE) --no-print-directory -C ports/virt BOARD=$(BOARD) MICROPY_TOP=$(MICROPY_TOP) APP=$(if $(APP),$(abspath $(APP))) all

run: firmware
	@echo "Booting $(FIRMWARE): exit QEMU with Ctrl-A X; forwarded from the host: $(HOSTFWD)"
	$(QEMU_SYSTEM) $(QEMU_ARGS) $(RUN_NET_ARGS) -kernel $(FIRMWARE) $(QEMU_EXTRA)

test: setup-test firmware
	$(PYTHON) -m pytest -q tests $(PYTEST_ARGS)

bench: setup-test firmware
	$(PYTHON) tests/bench_boot.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench.json
	$(PYTHON) tests/bench_net.py --firmware $(FIRMWARE) --json $(TOPDIR)/build/bench_net.json

clean:
	rm -rf build

distclean: clean
	rm -rf deps

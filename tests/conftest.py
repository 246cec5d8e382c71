"""The suite boots every guest with virtmp (its pytest plugin is installed
in build/venv by `make test`); the firmware is this checkout's build."""

import os

import pytest
import virtmp

from support import FIRMWARE, TRANSPORTS


def pytest_configure(config):
    if not config.getoption("virt_firmware") and not os.environ.get("VIRT_FIRMWARE"):
        if not os.path.exists(FIRMWARE):
            raise pytest.UsageError("no firmware at %s: run `make test`, which builds it" % FIRMWARE)
        os.environ["VIRT_FIRMWARE"] = FIRMWARE


@pytest.fixture
def guest(virt_guest_factory):
    """A freshly booted guest without a NIC, at its REPL prompt; killed afterwards."""
    return virt_guest_factory(net=None)


@pytest.fixture(params=TRANSPORTS)
def net_guest(virt_guest_factory, request):
    """A booted guest with a virtio-net NIC on slirp, on each transport; DHCP done."""
    g = virt_guest_factory(transport=request.param)
    assert g.wait_dhcp() == "10.0.2.15"
    g.repl("")
    return g

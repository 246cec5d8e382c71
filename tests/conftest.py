import os

import pytest

from qemu_guest import FIRMWARE, Guest


def pytest_configure(config):
    if not os.path.exists(FIRMWARE):
        raise pytest.UsageError("no firmware at %s: run `make test`, which builds it" % FIRMWARE)


@pytest.fixture
def guest():
    """A freshly booted guest at its REPL prompt; killed afterwards."""
    g = Guest()
    try:
        g.start()
        g.wait_prompt(timeout=20)
        yield g
    finally:
        g.stop()


@pytest.fixture(params=["modern", "legacy"])
def net_guest(request):
    """A booted guest with a virtio-net NIC on slirp, on each transport; DHCP done."""
    from netguest import NetGuest

    g = NetGuest(transport=request.param)
    try:
        g.start()
        g.wait_prompt(timeout=20)
        assert g.wait_dhcp() == "10.0.2.15"
        yield g
    finally:
        g.stop()

"""pytest plugin (entry point pytest11 "virtmp"): guests as fixtures.

  virt_guest          a booted guest on slirp, DHCP done, at the REPL prompt
  virt_guest_factory  factory(**options) -> a booted Guest; any number
Options: --virt-board, --virt-firmware (or $VIRT_BOARD, $VIRT_FIRMWARE).
A marker passes options to virt_guest:
  @pytest.mark.virt_guest(forwards=[8080], append="...", mem="256M", transport="legacy", disk="disk.img")
Every guest a test started is killed at its teardown, pass or fail; a failing
test's report carries each guest's serial log. Under pytest-xdist every guest
has its own free host ports and private socket paths.
"""

import pytest

from . import config as vconfig
from .guest import Guest
from .net import Slirp

_DEFAULT = object()


def pytest_addoption(parser):
    group = parser.getgroup("virtmp", "MicroPython guests in QEMU (virtmp)")
    group.addoption("--virt-board", default=None, help="board to boot (default $VIRT_BOARD or %s)"
                    % vconfig.DEFAULT_BOARD)
    group.addoption("--virt-firmware", default=None,
                    help="firmware ELF (default $VIRT_FIRMWARE or the checkout's build/BOARD/firmware.elf)")


def pytest_configure(config):
    config.addinivalue_line("markers", "virt_guest(**options): options of the virt_guest fixture's Guest "
                                        "(forwards=[...], append=, mem=, transport=, net=, disk=, qemu_args=)")


class GuestFactory:
    """Makes booted guests for one test and stops them all at its end."""

    def __init__(self, board, firmware):
        self.board = board
        self.firmware = firmware
        self.guests = []

    def __call__(self, forwards=(), net=_DEFAULT, start=True, **options):
        """A Guest (started, at its prompt unless start=False). net defaults to
        slirp with forwards; see virtmp.Guest for the other options (disk=
        an image path, a virtmp.DiskImage or a list of them)."""
        if net is _DEFAULT:
            net = Slirp(forwards=forwards)
        elif forwards:
            raise TypeError("forwards= goes with the default slirp NIC; pass Slirp(forwards=...) in net=")
        options.setdefault("board", self.board)
        options.setdefault("firmware", self.firmware)
        try:
            g = Guest(net=net, **options)
        except vconfig.SetupError as e:
            pytest.fail(str(e), pytrace=False)
        self.guests.append(g)
        if start:
            g.start()
        return g

    def stop_all(self):
        for g in self.guests:
            g.stop()


@pytest.fixture
def virt_guest_factory(request):
    """factory(**options) -> a booted virtmp.Guest; every one is killed at teardown."""
    factory = GuestFactory(request.config.getoption("virt_board"), request.config.getoption("virt_firmware"))
    request.node._virtmp_guests = factory.guests
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture
def virt_guest(virt_guest_factory, request):
    """A booted guest with a NIC on slirp, DHCP done, at its REPL prompt.
    Options from @pytest.mark.virt_guest(...)."""
    marker = request.node.get_closest_marker("virt_guest")
    options = dict(marker.kwargs) if marker else {}
    g = virt_guest_factory(**options)
    if g.nics and isinstance(g.nics[0], Slirp):
        addr = g.wait_dhcp()
        if not addr:
            pytest.fail("the guest got no DHCP lease in 10 s", pytrace=False)
        g.repl("")  # back at the friendly prompt
    return g


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, g in enumerate(getattr(item, "_virtmp_guests", ())):
            log = g.log
            if log:
                report.sections.append(("virt guest %d serial (%s)" % (i, g.board), log[-20000:]))

# vnet: TCP/IP over the VirtIO network device, with the API of TamaGo's Go
# package vnet in Python's snake_case (README.md maps every Go name).
#
#   import vnet
#   iface = vnet.Interface()                 # the address the boot configured
#   conn = iface.dial_tcp4("10.0.2.2:8000")  # a connected socket
#   l = iface.listener_tcp4(8080)            # conn, addr = l.accept()
#
#   dev = vnet.Net()
#   dev.init()                               # raw frames: dev.rx(), dev.tx(frame)
#   dev.rx_handler = print                   # or every frame to a function
#   dev.rx_handler = None                    # frames back to the TCP/IP stack
#
# The TCP/IP stack is lwIP (MicroPython's socket module), where the Go
# package has gVisor.

# Device parameters.
DEVICE_ID = 0x01  # virtio device ID of a network card
CONFIG_SIZE = 12  # bytes of Config on the wire

# Virtual queues.
RECEIVE_QUEUE = 0  # receiveq1
TRANSMIT_QUEUE = 1  # transmitq1

# Configuration constants.
STATUS_DOWN = 0
STATUS_UP = 1
SPEED_MIN = 0x00000000
SPEED_MAX = 0x7FFFFFFF
DUPLEX_HALF = 0x00
DUPLEX_FULL = 0x01
HASH_TYPE_IPV4 = 1 << 0
HASH_TYPE_TCPV4 = 1 << 1
HASH_TYPE_UDPV4 = 1 << 2
HASH_TYPE_IPV6 = 1 << 3
HASH_TYPE_TCPV6 = 1 << 4
HASH_TYPE_UDPV6 = 1 << 5
HASH_TYPE_IP_EX = 1 << 6
HASH_TYPE_TCP_EX = 1 << 7
HASH_TYPE_UDP_EX = 1 << 8

# Feature bits (masks of the device's 64-bit feature word).
FEATURE_CHECKSUM = 1 << 0
FEATURE_MTU = 1 << 3
FEATURE_MAC = 1 << 5
FEATURE_STATUS = 1 << 16
FEATURE_SPEED_DUPLEX = 1 << 63
DRIVER_FEATURES = FEATURE_CHECKSUM | FEATURE_MTU | FEATURE_MAC | FEATURE_STATUS | FEATURE_SPEED_DUPLEX

# Header flags: bit number of "needs checksum" in Header.flags.
NEEDS_CHECKSUM = 0

# Largest Ethernet frame Net.tx takes and Net.rx returns.
MTU = 1518
# The interface's NIC identifier.
NICID = 1

from .device import Config, Header, Net
from .iface import NIC, Interface, Listener

"""Closing a listening socket without resetting the connections the kernel had already accepted for it.

The kernel completes TCP handshakes on its own and queues the connections until the server calls
`accept()`; closing the socket resets every connection still in that queue — clients that had
connected, sent their request, and now see "connection reset". So, on Linux, stopping takes
three steps instead of one:

1. `refuse_new_connections`: a socket filter (a five-instruction classic BPF program) that drops the
   SYN of every new connection. New SYNs go unanswered; handshakes already begun complete.
2. `queued_connections` (the accept queue's length, from TCP_INFO) is polled while the event loop
   goes on accepting, until it is empty.
3. The socket is closed. Clients that were kept waiting retry their SYN about a second later and
   are refused cleanly (RST): the connection refused a load balancer understands.

Elsewhere (or if the kernel refuses the filter) step 3 alone happens, as it would anyway.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import struct
import sys
from collections.abc import Iterable

logger = logging.getLogger(__name__)

_SO_ATTACH_FILTER = 26  # <asm-generic/socket.h>
_BPF_RET_K = 0x06  # BPF_RET | BPF_K: "return the constant", here 0 bytes accepted, i.e. drop
# A classic BPF program (struct sock_filter: code, jt, jf, k) run on each packet reaching the listening
# socket, the data at its TCP header: drop an opening SYN (SYN without ACK), let everything else in.
# The rest must pass: a handshake the kernel had begun still needs its last ACK, or the connection —
# established from the client's side, its request maybe sent — is reset when the socket closes.
_DROP_NEW_SYNS = b"".join(
    struct.pack("HBBI", *instruction)
    for instruction in (
        (0x30, 0, 0, 13),  # ldb [13]: the TCP flags byte
        (0x54, 0, 0, 0x12),  # and #(SYN | ACK)
        (0x15, 0, 1, 0x02),  # jeq #SYN: drop, else accept
        (_BPF_RET_K, 0, 0, 0),  # ret #0: drop
        (_BPF_RET_K, 0, 0, 0xFFFFFFFF),  # ret #-1: the whole packet
    )
)
_TCP_INFO_UNACKED = 24  # offset of tcpi_unacked: for a listening socket, the accept queue's length


def _duplicate(fileno: int) -> socket.socket:
    # A second descriptor of the same socket: options set on it apply to the socket, and closing it
    # leaves the server's own descriptor open.
    return socket.socket(fileno=os.dup(fileno))


def refuse_new_connections(filenos: Iterable[int]) -> bool:
    """Drop every new connection's SYN that reaches these listening sockets from now on (handshakes already
    begun complete and join the accept queue); False where not supported."""
    if not sys.platform.startswith("linux"):
        return False
    program = ctypes.create_string_buffer(_DROP_NEW_SYNS)
    fprog = struct.pack("HP", len(_DROP_NEW_SYNS) // 8, ctypes.addressof(program))  # struct sock_fprog
    try:
        for fileno in filenos:
            with _duplicate(fileno) as sock:
                sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
    except OSError as exc:
        logger.debug("cannot filter the listening socket (%s); closing it as it is", exc)
        return False
    return True


def queued_connections(fileno: int) -> int:
    """Connections the kernel accepted for this listening socket that the server has not yet (0 if unknown)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        with _duplicate(fileno) as sock:
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return 0
    return int(struct.unpack_from("I", info, _TCP_INFO_UNACKED)[0]) if len(info) >= _TCP_INFO_UNACKED + 4 else 0


__all__ = ["queued_connections", "refuse_new_connections"]

"""The listening sockets of ``cvrisk serve``'s workers: on Linux one per worker on the same
port (SO_REUSEPORT), so that new connections are spread over the workers rather than all
taken by whichever worker wakes first."""

from __future__ import annotations

import select
import socket
import sys

import pytest

from cvrisk.service.server import listening_sockets


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads on Linux")
def test_each_worker_has_its_socket_and_connections_reach_every_one() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 2)
    clients: list[socket.socket] = []
    try:
        assert len({id(s) for s in sockets}) == 2
        port = sockets[0].getsockname()[1]
        assert port != 0 and sockets[1].getsockname()[1] == port
        for _ in range(64):  # all 64 on one socket: a chance of 2**-63 when spread
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        accepted = [0, 0]
        for index, sock in enumerate(sockets):
            sock.setblocking(False)
            while select.select([sock], [], [], 0.2)[0]:
                conn, _ = sock.accept()
                conn.close()
                accepted[index] += 1
        assert sum(accepted) == 64 and min(accepted) > 0, accepted
    finally:
        for client in clients:
            client.close()
        for sock in sockets:
            sock.close()


def test_one_worker_has_one_socket() -> None:
    (sock,) = listening_sockets("127.0.0.1", 0, 1)
    try:
        assert sock.getsockname()[1] != 0
    finally:
        sock.close()

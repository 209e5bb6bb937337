import socket

import pytest


def test_name_resolution_of_outside_hosts_is_blocked() -> None:
    with pytest.raises(OSError, match="network"):
        socket.getaddrinfo("pypi.org", 443)


def test_non_loopback_connection_is_blocked() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="network"):
            s.connect(("10.255.255.1", 80))
    finally:
        s.close()


def test_loopback_is_allowed() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
        assert client.getpeername() == server.getsockname()
    finally:
        client.close()
        server.close()

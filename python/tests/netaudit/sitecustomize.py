"""Test-only: log every socket connection or name lookup that leaves the machine.

Loaded through PYTHONPATH by the tests. Python audit events see every socket the Python
process opens (the SDKs' HTTP clients included); unix sockets and loopback are local.
"""
import os
import sys

_LOG = os.environ.get("E2E_NET_LOG")
_LOCAL = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "")


def _hook(event, args):
    if event == "socket.connect":
        addr = args[1]
        host = addr[0] if isinstance(addr, tuple) else None
    elif event == "socket.getaddrinfo":
        host = args[0]
        host = host.decode() if isinstance(host, bytes) else host
    else:
        return
    if host is None or str(host) in _LOCAL or str(host).startswith("127."):
        return
    with open(_LOG, "a") as f:
        f.write(f"{os.getpid()} {event} {args!r}\n")


if _LOG:
    sys.addaudithook(_hook)

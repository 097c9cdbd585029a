#!/usr/bin/env python3
"""Test bridge: listens on the port and answers every connection with bytes that are not HTTP."""

import socket
import sys

port = int(sys.argv[sys.argv.index("--port") + 1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.recv(4096)
        c.sendall(b"\x00\x01 this is not HTTP at all \xff\r\n\r\n")
    except OSError:
        pass
    c.close()

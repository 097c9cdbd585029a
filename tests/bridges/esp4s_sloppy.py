#!/usr/bin/env python3
"""Test bridge: answers the way the original esp4s did, which Scratch tolerates: every answer
is `HTTP/1.1 200 OK`, one header line has no colon (`Content-Length262`), the body is ended
only by closing the connection, and each connection carries one request. The Esplora side is
examples/bridges/esplora.py's (a blocking reader thread)."""

import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "bridges"))
import esplora  # noqa: E402
from threaded import reader  # noqa: E402

args = esplora.parse_args("sloppy esp4s")
fd = esplora.open_serial(args.serial[0], blocking=True)
board = esplora.Board(lambda data: os.write(fd, data))
threading.Thread(target=reader, args=(fd, board), daemon=True).start()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((args.host, args.port))
s.listen(16)
while True:
    c, _ = s.accept()
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = c.recv(4096)
            if not chunk:
                break
            head += chunk
        parts = head.split(b"\r\n", 1)[0].split()
        _, body = board.answer(parts[1].decode() if len(parts) > 1 else "/")
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length%d\r\n\r\n"
                  % len(body) + body)
    except OSError:
        pass
    c.close()

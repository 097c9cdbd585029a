#!/usr/bin/env python3
"""The polling mistake, as the original threaded esp4s made it: the serial reader asks "any
bytes waiting?" (pyserial's in_waiting, here the same FIONREAD ioctl) in a loop that never
sleeps, and reads when the answer is yes.

Everything else is threaded.py's (http.server's ThreadingHTTPServer). The loop is always
runnable, so this bridge pins a CPU core even when the board is silent -- that is what
esbench shows.

    python3 polling.py /dev/ttyACM0 --port 50209
"""

import array
import fcntl
import http.server
import os
import termios
import threading

import esplora
from threaded import handler_for


def bytes_waiting(fd):
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]


def reader(fd, board):
    lines = esplora.LineSplitter()
    while True:
        try:
            waiting = bytes_waiting(fd)  # never blocks: asks, and asks again at once
            if waiting:
                for line in lines.feed(os.read(fd, waiting)):
                    board.frame(line)
        except OSError:
            return  # the board went away


def main():
    args = esplora.parse_args(__doc__.splitlines()[0])
    servers = []
    for i, path in enumerate(args.serial):
        fd = esplora.open_serial(path, blocking=True)
        lock = threading.Lock()

        def write(data, fd=fd, lock=lock):
            with lock:
                os.write(fd, data)

        board = esplora.Board(write)
        threading.Thread(target=reader, args=(fd, board), daemon=True).start()
        server = http.server.ThreadingHTTPServer((args.host, args.port + i), handler_for(board))
        server.daemon_threads = True
        servers.append(server)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()

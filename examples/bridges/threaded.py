#!/usr/bin/env python3
"""The threaded bridge, done right: a reader thread per board that *blocks* in read() on the
serial port, and http.server's ThreadingHTTPServer (a thread per connection, keep-alive).

Nothing here spins: the reader sleeps in the kernel until the board sends bytes, and each
HTTP thread sleeps in recv() until its client sends a request. It is the design of the
original threaded esp4s with its one mistake (the busy "bytes waiting?" loop, see
polling.py) taken out.

    python3 threaded.py /dev/ttyACM0 --port 50209
"""

import http.server
import os
import threading

import esplora


def reader(fd, board):
    lines = esplora.LineSplitter()
    while True:
        try:
            data = os.read(fd, 4096)  # blocks until the board sends something
        except OSError:
            return  # the board went away
        if not data:
            return
        for line in lines.feed(data):
            board.frame(line)


def handler_for(board):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Scratch's client expects
        # Headers and body go out in separate writes; without this, Nagle's algorithm holds
        # the body until the client's delayed ACK (tens of ms on every answer).
        disable_nagle_algorithm = True

        def do_GET(self):
            status, body = board.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


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

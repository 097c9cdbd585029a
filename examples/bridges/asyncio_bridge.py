#!/usr/bin/env python3
"""The asyncio bridge: one thread, one event loop. The serial port is watched with
loop.add_reader (epoll tells the loop when the board has sent bytes) and the HTTP side is
asyncio.start_server with a small hand-written HTTP/1.1 reader (keep-alive).

Like esp4s-aio's rewrite, it waits for everything in one place and so costs nothing while
nothing happens.

    python3 asyncio_bridge.py /dev/ttyACM0 --port 50209
"""

import asyncio
import os

import esplora


def watch_serial(loop, fd, board):
    lines = esplora.LineSplitter()

    def readable():
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            loop.remove_reader(fd)  # the board went away
            return
        for line in lines.feed(data):
            board.frame(line)

    loop.add_reader(fd, readable)


async def serve_connection(board, reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line = head.split(b"\r\n", 1)[0].split()
            if len(request_line) < 2:
                break
            status, body = board.answer(request_line[1].decode("latin-1"))
            writer.write(esplora.response(status, body))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    args = esplora.parse_args(__doc__.splitlines()[0])
    loop = asyncio.get_running_loop()
    servers = []
    for i, path in enumerate(args.serial):
        fd = esplora.open_serial(path, blocking=False)

        def write(data, fd=fd):
            os.write(fd, data)  # a few bytes into a pty: never blocks in practice

        board = esplora.Board(write)
        watch_serial(loop, fd, board)
        servers.append(await asyncio.start_server(
            lambda r, w, board=board: serve_connection(board, r, w), args.host, args.port + i))
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())

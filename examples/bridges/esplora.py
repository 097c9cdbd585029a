"""What the three example bridges share: the Esplora v1.00 serial protocol and the Scratch 2
HTTP extension protocol, with no I/O of its own.

Standard library only. Each bridge (threaded.py, asyncio_bridge.py, polling.py) differs only
in how it *waits* -- on the serial port and on the HTTP sockets -- which is what esbench
measures. The facts come from esp4s (see esbench's docs/protocol.md):

* the board streams ``ESP,v1,...,v16,PSE\\r\\n`` frames after it is sent ``C``;
* ``/poll`` answers ``key value`` lines, normalised the way esp4s does it;
* command routes become v1 command bytes (``/leds/Red/100`` -> ``R100``); numeric commands are
  ended with ``\\n``, which the sketch ignores but which ends its ``parseInt()`` at once
  instead of after its 1 s timeout.
"""

import os
import termios
import tty

POLL_KEYS = [
    "buttons/Down", "buttons/Left", "buttons/Up", "buttons/Right", "slider", "light",
    "temp", "sound", "joystick/Button", "joystick/Left-Right_(X)", "joystick/Up-Down_(Y)",
    "accel/X__Side-Twist", "accel/Y__Front-Twist", "accel/Z__Raise-Lower",
    "tkInput/A", "tkInput/B",
]

NOTES = {
    "C": 523, "C_Sharp--D_Flat": 554, "D": 587, "D_Sharp--E_Flat": 622, "E": 659,
    "F": 698, "F_Sharp--G_Flat": 740, "G": 783, "G_Sharp--A_Flat": 831, "A": 880,
    "A_Sharp--B_Flat": 932, "B": 958, "Note_Off": 0,
}

#: A line longer than this is no frame (a real one is at most 76 bytes).
MAX_LINE = 1024


def open_serial(path, blocking):
    """Opens the board's serial port raw (no echo, no CR/LF translation)."""
    flags = os.O_RDWR | os.O_NOCTTY
    if not blocking:
        flags |= os.O_NONBLOCK
    fd = os.open(path, flags)
    tty.setraw(fd, termios.TCSANOW)
    return fd


def parse_frame(line):
    """The 16 raw values of one frame line (bytes without the line end), or None."""
    parts = line.strip().split(b",")
    if len(parts) != 18 or parts[0] != b"ESP" or parts[17] != b"PSE":
        return None
    try:
        return [int(p) for p in parts[1:17]]
    except ValueError:
        return None


class LineSplitter:
    """Cuts a byte stream into lines, dropping over-long ones."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        if len(self.buf) > MAX_LINE:
            self.buf = b""
        return lines


class Board:
    """One board as the HTTP side sees it: the newest frame and the user's choices.

    Not locked: the threaded bridge replaces ``raw`` with one assignment (atomic under the
    GIL) and the readers take it with one read.
    """

    def __init__(self, write):
        self.write = write  # callable(bytes): sends command bytes to the board
        self.raw = None
        self.started = False
        self.joystick_on_left = True
        self.fahrenheit = False

    def frame(self, line):
        values = parse_frame(line)
        if values is not None:
            self.raw = values

    def status(self):
        r = self.raw
        if r is None:
            return None
        pressed = [1 if v == 0 else 0 for v in r[0:4]]
        down, left, up, right = pressed
        if self.joystick_on_left:
            slider, jx, jy = abs(1023 - r[4]), -r[9], -r[10]
        else:
            down, up, left, right = up, down, right, left
            slider, jx, jy = r[4], r[9], r[10]
        temp = (r[6] * 9) // 5 + 32 if self.fahrenheit else r[6]
        return [down, left, up, right, slider, r[5], temp, r[7], 1 if r[8] <= 10 else 0,
                jx, jy, -r[11], -r[12], r[13], r[14], r[15]]

    def answer(self, path):
        """(HTTP status, body) for one request path; writes commands to the board."""
        if not self.started:
            self.started = True
            self.write(b"C")
        parts = path.split("?")[0].strip("/").split("/")
        if parts == ["poll"]:
            s = self.status()
            if s is None:
                return 200, b""
            body = "".join("%s %d\n" % (k, v) for k, v in zip(POLL_KEYS, s))
            return 200, body.encode() + b"\r\n"
        if "/".join(parts) in POLL_KEYS:
            s = self.status()
            if s is None:
                return 200, b""
            return 200, b"%d\r\n" % s[POLL_KEYS.index("/".join(parts))]
        cmd = command_bytes(parts)
        if cmd is not None:
            self.write(cmd)
            return 200, b"okay"
        if parts[:1] == ["orientation"] and len(parts) == 2:
            self.joystick_on_left = parts[1] != "Joystick_On_Right"
            return 200, b"okay"
        if parts[:1] == ["temp_units"] and len(parts) == 2:
            self.fahrenheit = parts[1] == "Fahrenheit"
            return 200, b"okay"
        if parts == ["crossdomain.xml"]:
            return 200, (b'<cross-domain-policy><allow-access-from domain="*" '
                         b'to-ports="50209"/></cross-domain-policy>\0')
        return 404, b""


def command_bytes(parts):
    """The v1 command a route sends (ended by ``\\n``), or None."""
    def num(text, top=None):
        v = int(float(text))
        return min(max(v, 0), top) if top is not None else v

    try:
        if len(parts) == 3 and parts[0] == "leds" and parts[1] in ("Red", "Green", "Blue"):
            return b"%s%d\n" % (parts[1][0].encode(), num(parts[2], 255))
        if len(parts) == 2 and parts[0] == "board_led" and parts[1] in ("On", "Off"):
            return b"L 1\n" if parts[1] == "On" else b"L 0\n"
        if len(parts) == 2 and parts[0] == "play_tone" and parts[1] in NOTES:
            return b"T%d\n" % NOTES[parts[1]]
        if len(parts) == 2 and parts[0] == "tone2":
            return b"T%d\n" % num(parts[1])
        if len(parts) == 3 and parts[0] == "tinker_out" and parts[1] in ("A", "B"):
            return b"%s%d\n" % (b"Y" if parts[1] == "A" else b"Z", num(parts[2], 255))
        if parts == ["reset_all"]:
            return b"T0\n"
    except ValueError:
        return None
    return None


def response(status, body, keep_alive=True):
    """A whole HTTP/1.1 answer with Content-Length (keep-alive unless told otherwise)."""
    reason = b"OK" if status == 200 else b"Not Found"
    conn = b"keep-alive" if keep_alive else b"close"
    return (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            b"Access-Control-Allow-Origin: *\r\nConnection: %s\r\n\r\n"
            % (status, reason, len(body), conn)) + body


def parse_args(description):
    """``SERIAL [SERIAL...] --port P [--host H]``: board i is served on port P+i."""
    import argparse
    p = argparse.ArgumentParser(description=description)
    p.add_argument("serial", nargs="+", help="the board's serial port (one per board)")
    p.add_argument("--port", type=int, default=50209, help="HTTP port of the first board")
    p.add_argument("--host", default="127.0.0.1")
    return p.parse_args()

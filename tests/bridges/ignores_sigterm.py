#!/usr/bin/env python3
"""Test bridge: a working bridge (examples/bridges/threaded.py) that ignores SIGTERM, so esbench
must fall back to SIGKILL after its grace period and say so in the row."""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "bridges"))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
import threaded  # noqa: E402

threaded.main()

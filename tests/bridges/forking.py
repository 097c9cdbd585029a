#!/usr/bin/env python3
"""Test bridge: the parent forks a worker that does all the work (examples/bridges/polling.py,
so the work is plainly visible as CPU) and only waits for it. esbench must charge the worker's
CPU to the bridge, and leave neither process behind when it stops the parent."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "bridges"))

pid = os.fork()
if pid == 0:
    sys.argv[0] = "polling.py"
    import polling
    polling.main()
    os._exit(0)
os.waitpid(pid, 0)

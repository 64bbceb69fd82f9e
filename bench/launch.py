"""Run one command and write its wall time, CPU time and peak RSS as JSON to a file.

usage: python -I -S launch.py RESULT.json COMMAND...

A child's peak RSS (ru_maxrss) on Linux starts from the memory of the process it was forked
from: the harness itself grows (the PDF suite works in process), so every measured command is
started from this small launcher instead, and is timed here, after the launcher's own start-up.
"""

import json
import os
import sys
import time


def main() -> None:
    result, command = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    figures = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "code": code,
    }
    with open(result, "w") as handle:
        json.dump(figures, handle)


if __name__ == "__main__":
    main()

"""`python bench/unsynced.py ARGS` runs `certify ARGS` with SQLite's commits not synced to
disk (`synchronous = OFF` where certify asks for FULL): the same run without the fsync that
makes each claim and `sending` mark durable before a hand-over. For measuring what that
guarantee costs, never for use."""

import runpy
import sqlite3
import sys
from typing import Any


class Unsynced(sqlite3.Connection):
    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.replace(" ", "").upper().startswith("PRAGMASYNCHRONOUS="):
            sql = "PRAGMA synchronous = OFF"
        return super().execute(sql, *args)


_connect = sqlite3.connect


def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    kwargs.setdefault("factory", Unsynced)
    return _connect(*args, **kwargs)


if __name__ == "__main__":
    sqlite3.connect = connect  # type: ignore[assignment]
    sys.argv = ["certify", *sys.argv[1:]]
    runpy.run_module("certify", run_name="__main__", alter_sys=True)

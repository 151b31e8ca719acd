"""A consistent copy of the live database, through SQLite's online backup API."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from storage.sqlite import snapshot


class BackupFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def copy_database(source: Path, target: Path) -> int:
    """Copies `source` to `target` (replacing it) and returns how many articles the copy
    holds: one snapshot (storage.sqlite.snapshot), checked before it is kept."""
    # Written beside the target and renamed when complete, so a copy cut short (disk
    # full, Ctrl+C) never passes for a good one and an old copy is never lost early.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        copy = snapshot(source, partial)
        try:
            check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            articles = copy.execute("SELECT count(*) FROM articles").fetchone()[0]
        finally:
            copy.close()
        if check != "ok":
            raise BackupFailed(str(check))
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupFailed(str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return int(articles)

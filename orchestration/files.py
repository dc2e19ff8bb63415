"""Folders written whole: a reader never finds a half-written one.

Published versions, quarter snapshots and fact-sheet folders are all written this way: into
`.incoming-<name>` beside the target, then renamed into place. A run killed part way leaves only
an `.incoming-*` folder, which the next write of the same target clears.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INCOMING_PREFIX = ".incoming-"


def incoming_folder(target: Path) -> Path:
    """Where `target` is written before it is renamed into place."""
    return target.with_name(f"{INCOMING_PREFIX}{target.name}")


@contextmanager
def atomic_folder(target: Path, fsync: bool = False) -> Iterator[Path]:
    """Yield an empty folder to write `target`'s files into; when the block ends without an
    error it replaces `target`, on an error it is removed and `target` stays as it was. `fsync`
    flushes every file to disk before the rename. Replacing an earlier `target` removes it
    first, so for that moment there is none (published versions are new folders each time,
    switched by a link: publish._switch)."""
    incoming = incoming_folder(target)
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    try:
        yield incoming
        if fsync:
            for path in incoming.rglob("*"):
                if path.is_file():
                    with path.open("rb") as f:
                        os.fsync(f.fileno())
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    incoming.rename(target)


def remove_incoming(parent: Path) -> list[Path]:
    """The folders of writes into `parent` that were killed before they completed."""
    leftovers = sorted(parent.glob(f"{INCOMING_PREFIX}*"))
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return leftovers

"""One writer at a time on the DuckDB files, whoever started the run.

Dagster's `duckdb_writer` pool (limit 1, see `instance.py`) serialises writing steps of runs that
share an instance. This lock is the guarantee underneath: a step that writes the raw layer, the
warehouse or the published folder holds an OS file lock on the data folder for as long as it
writes, so runs from another instance, a cron job or a second terminal wait instead of failing on
DuckDB's own file lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from orchestration.settings import Settings

log = logging.getLogger(__name__)


class WriterBusy(RuntimeError):
    """Another writer held the data folder for longer than the timeout."""


@contextmanager
def writer_lock(
    settings: Settings, waiting: Callable[[str], None] = log.info, timeout: float | None = None
) -> Iterator[None]:
    """Hold the data folder's writer lock; say so when another writer has it and we wait."""
    path = settings.lock_file
    path.parent.mkdir(parents=True, exist_ok=True)
    if timeout is None:
        timeout = settings.writer_lock_timeout
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        waiting(f"another run is writing {settings.data_dir}; waiting for it to finish")
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise WriterBusy(
                f"{path} was held by another writer for more than {timeout:.0f} s; "
                "check for a hung run before removing anything"
            ) from None
    try:
        yield
    finally:
        lock.release()

"""The writer lock: a second writer waits, says so, and gives up only after its timeout."""

import multiprocessing
import time

import pytest

from orchestration.locking import WriterBusy, writer_lock
from orchestration.settings import Settings


def _hold(data_dir, seconds, ready):
    with writer_lock(Settings(data_dir=data_dir)):
        ready.set()
        time.sleep(seconds)


def test_a_second_writer_waits_for_the_first_and_says_so(tmp_path):
    settings = Settings(data_dir=tmp_path)
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(tmp_path, 1.5, ready))
    holder.start()
    assert ready.wait(30)
    started = time.monotonic()
    messages = []
    with writer_lock(settings, waiting=messages.append, timeout=60):
        assert time.monotonic() - started > 1.0  # we got in only after the holder let go
    holder.join()
    assert messages and "waiting" in messages[0]


def test_a_writer_held_past_the_timeout_is_an_error_naming_the_lock(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold, args=(tmp_path, 5, ready))
    holder.start()
    assert ready.wait(30)
    with (
        pytest.raises(WriterBusy, match=r"writer\.lock"),
        writer_lock(Settings(data_dir=tmp_path), waiting=lambda _m: None, timeout=0.2),
    ):
        pass
    holder.join()

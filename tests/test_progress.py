"""Which delivery a run works on: the one loaded last, also when another municipality's
extract is newer (several municipalities in one warehouse)."""

from orchestration import progress
from orchestration.settings import Settings


def test_the_current_delivery_is_the_one_loaded_last_not_the_newest_extract(tmp_path):
    settings = Settings(data_dir=tmp_path)
    progress.record(settings, "aarhus-old", "loaded", "r1", extract_time="2019-06-28 02:00:00+00")
    progress.record(settings, "kbh", "loaded", "r2", extract_time="2019-06-29 02:00:00+00",
                    loaded_at=progress.now())  # fmt: skip
    progress.record(settings, "aarhus", "loaded", "r3", extract_time="2019-06-28 02:00:00+00",
                    loaded_at=progress.now())  # fmt: skip
    assert progress.current_delivery(settings)["delivery_id"] == "aarhus"
    # A run's verdict goes to that delivery, not to the newest extract's.
    progress.advance_current(settings, "blocked", "r3", gate="delivery")
    records = progress.read_progress(settings)
    assert (records["aarhus"]["stage"], records["kbh"]["stage"]) == ("blocked", "loaded")


def test_records_from_before_loaded_at_order_by_extract_time(tmp_path):
    settings = Settings(data_dir=tmp_path)
    progress.record(settings, "b", "loaded", "r1", extract_time="2019-06-29 02:00:00+00")
    progress.record(settings, "a", "loaded", "r2", extract_time="2019-06-28 02:00:00+00")
    assert progress.current_delivery(settings)["delivery_id"] == "b"
    progress.record(settings, "c", "loaded", "r3", extract_time="2019-06-27 02:00:00+00",
                    loaded_at=progress.now())  # fmt: skip
    assert progress.current_delivery(settings)["delivery_id"] == "c"

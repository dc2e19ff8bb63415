"""After a whole day's and quarter's work, no CPR number and no key outside the raw layer.

The data folder is the one `effekt run` and the quarterly report leave: the warehouse, the
published versions (DuckDB and Parquet), validation reports and Data Docs, fact sheets, dbt's
target and logs, the pipeline log, alerts, and Dagster's own run and event storage.
"""

from tests.conftest import KEY
from tests.privacy_scan import files_with_cpr, files_with_secret, tables_matching


def test_no_cpr_number_anywhere_outside_the_raw_layer_after_a_full_run(reported):
    settings = reported.operated.settings
    # The scanners find the CPR numbers that are there, in DuckDB and in Parquet ...
    assert {"raw.citizens.cpr", "raw.cases.cpr"} <= set(tables_matching(settings.raw_database))
    assert "citizens.parquet" in " ".join(files_with_cpr(settings.archive_dir, skip=[]))
    # ... so finding none in everything else the pipeline wrote means something.
    written = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".duckdb", ".parquet", ".html", ".csv", ".json", ".db"}
    assert files_with_cpr(settings.data_dir, skip=[settings.raw_dir]) == []


def test_the_pseudonym_key_is_written_nowhere(reported):
    settings = reported.operated.settings
    assert settings.pseudonym_key_file.read_bytes() == KEY  # it is the key the run used
    assert files_with_secret(settings.data_dir, KEY, skip=[]) == []

"""The same arguments give byte-identical deliveries; other seeds give other data."""

import hashlib

import duckdb
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from tests.conftest import END, START


def _sums(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("file_format", "dialect"), [("csv", "excel-dk"), ("parquet", "utf8")])
def test_same_arguments_same_sha256(tmp_path, file_format, dialect):
    def run(out, seed=5):
        cfg = GeneratorConfig(
            citizens=300, start=START, end=END, seed=seed, out=out, file_format=file_format,
            dialect=dialect, defects=0.01, progress=False,
        )  # fmt: skip
        return generate_delivery(cfg)

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    assert _sums(a.path) == _sums(b.path)
    assert a.ground_truth.read_bytes() == b.ground_truth.read_bytes()
    # The manifest's checksums are the files' own.
    for entry in a.manifest["files"]:
        assert _sums(a.path)[entry["file"]] == entry["sha256"]
    other = run(tmp_path / "c", seed=6)
    assert _sums(other.path) != _sums(a.path)


def test_chunks_do_not_change_with_the_population_beyond_them(tmp_path):
    """Citizens are simulated in fixed chunks: the first chunk is the same at any size."""

    def citizens(n: int) -> str:
        cfg = GeneratorConfig(citizens=n, start=START, end=END, seed=9, out=tmp_path / str(n),
                              file_format="parquet", progress=False)  # fmt: skip
        return f"'{generate_delivery(cfg).path}/citizens.parquet'"

    small, large = citizens(10_000), citizens(10_050)
    missing = duckdb.connect().execute(f"select count(*) from (from {small} except from {large})")
    assert missing.fetchone()[0] == 0

"""The comparison pages as Dagster materialises them for a quarter, from the quarter's snapshot
of ind_case_mix: every municipality named, only one's own, or no pages at all (one
municipality, or a published version from before ind_case_mix), and a clear failure when the
settings ask for the impossible."""

import dagster as dg
import pandas as pd
import pytest

from orchestration.reporting import Quarter, comparison_dir, snapshot_dir
from orchestration.reporting.assets import comparison_pages
from orchestration.resources import SettingsResource
from orchestration.settings import Settings
from tests.reporting.test_comparison_pages import (
    frame,  # noqa: F401  (the fixture)
    text_of,
)

QUARTER = Quarter.parse("2019Q2")
# Real kommunekoder, so the pages name them from the code list.
REAL = {str(c): str(r) for c, r in zip(range(901, 913), [101, 147, 151, 153, 155, 157, 159, 161, 163, 165, 167, 169], strict=True)}  # fmt: skip
NAMES = {"101": "København", "147": "Frederiksberg", "151": "Ballerup", "169": "Høje-Taastrup"}


@pytest.fixture
def case_mix(frame) -> pd.DataFrame:  # noqa: F811
    """The test frame's rows under real municipality codes, as a snapshot holds them."""
    return frame.assign(municipality_code=frame.municipality_code.map(REAL).fillna("000"))


def materialise(settings: Settings, rows: pd.DataFrame | None) -> dg.ExecuteInProcessResult:
    snapshot = snapshot_dir(settings, QUARTER)
    snapshot.mkdir(parents=True, exist_ok=True)
    if rows is not None:
        rows.to_parquet(snapshot / "ind_case_mix.parquet")
    return dg.materialize(
        [comparison_pages],
        partition_key=QUARTER.start.isoformat(),
        resources={"settings": SettingsResource(**settings.config())},
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def pages(folder) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.html")}


def test_every_municipality_is_named_and_has_its_page(tmp_path, case_mix):
    settings = Settings(data_dir=tmp_path)
    result = materialise(settings, case_mix)
    assert result.success
    written = pages(comparison_dir(settings, QUARTER))
    expected = {"index.html", "sammenligning-goals_achieved.html",
                "sammenligning-ability_improved.html", *(f"kommune-{c}.html" for c in REAL.values())}  # fmt: skip
    assert set(written) == expected
    index = " ".join(text_of(written["index.html"]).text)
    for name in NAMES.values():
        assert name in index
    found = metadata(result)
    assert found["period"] == "2018Q3-2019Q2" and found["others_named"] is True
    assert found["pages"] == len(expected)


def test_only_ones_own_municipality_is_named_when_others_are_not(tmp_path, case_mix):
    settings = Settings(data_dir=tmp_path, comparison_name_others=False, municipality_code="147")
    result = materialise(settings, case_mix)
    assert result.success
    written = pages(comparison_dir(settings, QUARTER))
    assert set(written) == {"index.html", "sammenligning-goals_achieved.html",
                            "sammenligning-ability_improved.html", "kommune-147.html"}  # fmt: skip
    everything = "".join(written.values())
    assert "Frederiksberg" in everything
    for code, name in NAMES.items():
        if code != "147":
            assert name not in everything
            assert f"kommune-{code}" not in everything
    assert metadata(result)["own_municipality"] == "147"


def test_anonymous_pages_without_ones_own_municipality_fail_naming_the_setting(tmp_path, case_mix):
    settings = Settings(data_dir=tmp_path, comparison_name_others=False)
    result = materialise(settings, case_mix)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message + str(
        failure.step_failure_data.user_failure_data
    )
    assert "EFFEKT_MUNICIPALITY_CODE" in message and "2019Q2" in message
    assert not comparison_dir(settings, QUARTER).exists()


def test_one_municipality_writes_no_pages_and_removes_an_earlier_set(tmp_path, case_mix):
    settings = Settings(data_dir=tmp_path)
    assert materialise(settings, case_mix).success
    assert comparison_dir(settings, QUARTER).exists()
    alone = case_mix[case_mix.municipality_code.isin(["101", "000"])]
    result = materialise(settings, alone)
    assert result.success
    assert not comparison_dir(settings, QUARTER).exists()
    found = metadata(result)
    assert found["pages"] == 0 and "one municipality" in found["why_none"]


def test_a_version_published_before_ind_case_mix_writes_no_pages(tmp_path):
    settings = Settings(data_dir=tmp_path)
    result = materialise(settings, None)
    assert result.success
    assert "no ind_case_mix" in metadata(result)["why_none"]
    assert not comparison_dir(settings, QUARTER).exists()

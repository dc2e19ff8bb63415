"""One change of each kind, each delivered alone on top of a build: the build on the last one
(period- and key-incremental) gives every table a build of everything gives. One change per
delivery, so a rule that misses what a change touches is not hidden by another change that
touches more."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.settings import Settings
from tests.conftest import START
from tests.ingest.conftest import next_delivery, rewrite
from tests.warehouse.conftest import build_on_last, ingest_copy, rebuilt_alike, touched_periods

DAY = dt.date(2019, 6, 25)


def _one(order: str, key: str, where: str = "true") -> str:
    """The key of the entity's first row in this order among those `where` holds (a subquery
    over the file `{t}`)."""
    return f"(select {key} from {{t}} where {where} order by {order} limit 1)"


FIRST_FOLLOWUP = _one("followed_up_on, followup_id", "followup_id")
LAST_FOLLOWUP = _one("followed_up_on desc, followup_id", "followup_id")
FIRST_GOAL = _one("set_on, goal_id", "goal_id")
LAST_ASSESSMENT = _one("assessed_on desc, assessment_id", "assessment_id")
SCORED = "(select min(assessment_id) from {t})"
LAST_INTERVENTION = _one("started_on desc, intervention_id", "intervention_id")
OPEN_CASE = _one("opened_on, case_id", "case_id", where="closed_on is null")


def _replaced(column: str, key: str, chosen: str, value: str) -> str:
    """The file with `column` of the chosen row (key = chosen) set to `value`."""
    return (
        f"select * replace (case when {key} = {chosen} then {value} else {column} end "
        f"as {column}) from {{t}}"
    )


def _date_moved(column: str, key: str, chosen: str, days: int) -> str:
    return _replaced(column, key, chosen, f"cast({column} + interval ({days}) day as date)")


OTHER_PROVIDER = (
    "(select min(provider_org_unit_id) from {t} where provider_org_unit_id <> "
    f"(select provider_org_unit_id from {{t}} where intervention_id = {LAST_INTERVENTION}))"
)
SCORE_CORRECTED = _replaced(
    "score",
    "assessment_id",
    f"{SCORED} and theme = (select min(theme) from {{t}} where assessment_id = {SCORED})",
    "case when score < 2 then score + 1 else score - 1 end",
)

# name: (entity, select over the delivered file `{t}`, whether the change is narrow: it touches
# fewer than every period, so the build computes some periods again and keeps the rest).
CHANGES = {
    "a follow-up dated earlier": (
        "goal_followups",
        _date_moved("followed_up_on", "followup_id", LAST_FOLLOWUP, -200),
        True,
    ),
    "a follow-up dated later": (
        "goal_followups",
        _date_moved("followed_up_on", "followup_id", FIRST_FOLLOWUP, 40),
        False,
    ),
    "a goal withdrawn, its follow-ups left behind": (
        "goals",
        f"select * from {{t}} where goal_id <> {FIRST_GOAL}",
        False,
    ),
    "a goal set earlier": ("goals", _date_moved("set_on", "goal_id", FIRST_GOAL, -100), False),
    "a score corrected": ("assessment_scores", SCORE_CORRECTED, False),
    "an assessment dated earlier": (
        "assessments",
        _date_moved("assessed_on", "assessment_id", LAST_ASSESSMENT, -200),
        True,
    ),
    "an intervention moved to another provider": (
        "interventions",
        _replaced("provider_org_unit_id", "intervention_id", LAST_INTERVENTION, OTHER_PROVIDER),
        False,
    ),
    "an open case closed": (
        "cases",
        _replaced("closed_on", "case_id", OPEN_CASE, "cast(opened_on + interval 400 day as date)"),
        True,
    ),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A delivery of 300 citizens, ingested and built once: the state every change lands on."""
    store = tmp_path_factory.mktemp("changes")
    config = GeneratorConfig(citizens=300, start=START, end=DAY, seed=5, progress=False,
                             out=store / "delivered", file_format="parquet", extract_at=DAY)  # fmt: skip
    delivery = generate_delivery(config).path
    settings = Settings(data_dir=store / "base")
    ingest_copy(settings, delivery)
    assert build_on_last(settings) == "a first build: everything"
    return delivery, settings.data_dir


@pytest.mark.parametrize("change", list(CHANGES))
def test_one_change_built_on_the_last_build_equals_a_build_of_everything(built, change, tmp_path):
    delivery, base = built
    entity, select, narrow = CHANGES[change]
    changed = next_delivery(delivery, tmp_path / "delivery", "changed", hours=1)
    rewrite(changed, entity, select)

    settings = Settings(data_dir=tmp_path / "data")
    shutil.copytree(base, settings.data_dir)
    ingest_copy(settings, changed)
    with duckdb.connect(str(settings.raw_database), read_only=True) as con:
        changes = dict(con.execute(
            "select entity, count(*) from raw.changes where delivery_id like '%-changed' group by entity"
        ).fetchall())  # fmt: skip
    assert changes.get(entity) == 1, changes  # the one change planted, nothing else
    assert build_on_last(settings).startswith("on the build through delivery number 1")
    total, touched = touched_periods(settings)
    assert 0 < touched < total if narrow else 0 < touched <= total, (touched, total)
    differences = rebuilt_alike(settings, tmp_path / "everything")
    assert differences == dict.fromkeys(differences, (0, 0)), change

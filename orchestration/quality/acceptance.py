"""The delivery gate's baseline, and drops an operator has checked and accepted.

The plausibility gate compares the current delivery with its **baseline**: the delivery that was
current in the published version (`published/current/manifest.json`), so a drop that persists in
the next delivery stays blocked. Before anything is published, the baseline is the previous
loaded delivery.

An operator who has checked a drop (a unit closed, a service moved) accepts it with
`effekt accept`: one JSON line in `<data>/state/acceptances.jsonl` (append-only) says which
delivery, which units, against which baseline, at what level, who, when and why. The gate then
takes the accepted level as the unit's reference for every delivery compared with the same
baseline: the accepted delivery passes, and a later one passes unless the unit falls again by more
than the allowed drop. Once a newer delivery is published the baseline moves on and the
acceptances of the old one no longer apply; the manifest of the publication they let through
carries them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.settings import Settings

RAW = "raw_layer.raw"  # the raw layer as the gate attaches it
NO_ACCEPTED = "(select null::varchar as unit, null::double as level where false)"
CPR_MASK = "[CPR?]"


class AcceptanceError(ValueError):
    """The acceptance cannot be recorded; the message says why (the CLI exits with 2)."""


@dataclass(frozen=True)
class Baseline:
    delivery_id: str | None  # None: no delivery to compare with (the first one)
    source: str  # "published", "previous loaded" or "none"


def acceptances_file(settings: Settings) -> Path:
    return settings.state_dir / "acceptances.jsonl"


def read_acceptances(settings: Settings) -> list[dict]:
    """Every acceptance recorded, oldest first."""
    path = acceptances_file(settings)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def mask_cpr(text: str) -> str:
    """Operator free text with anything CPR-like masked: it goes into the published manifest."""
    return CPR_IN_TEXT.sub(CPR_MASK, text)


def _literal(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _first(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first column of the first row, or None; fetches every row, so the connection is free
    for the next query (DuckDB refuses new work while a result is unfinished)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def current_delivery(con: duckdb.DuckDBPyConnection) -> str | None:
    return _first(con, f"select delivery_id from {RAW}.current_delivery")


def baseline(settings: Settings, con: duckdb.DuckDBPyConnection, current: str | None) -> Baseline:
    """What `current` is compared with: its municipality's delivery in the published version if
    the raw layer still holds it, else that municipality's newest loaded delivery before it. Another
    municipality's delivery is never a baseline (their units are not the same units)."""
    from orchestration.publish import published_delivery

    municipality = _first(
        con, f"select municipality_code from {RAW}.deliveries where delivery_id = ?", [current]
    )
    published = published_delivery(settings, municipality)
    if published is not None and _loaded(con, published):
        return Baseline(published, "published")
    previous = _first(
        con,
        f"select delivery_id from {RAW}.deliveries where delivery_id is distinct from ? "
        "and municipality_code is not distinct from ? and status = 'loaded' "
        f"and seq < coalesce((select seq from {RAW}.deliveries where delivery_id = ?), {2**62}) "
        "order by seq desc limit 1",
        [current, municipality, current],
    )
    return Baseline(previous, "previous loaded") if previous else Baseline(None, "none")


def _loaded(con: duckdb.DuckDBPyConnection, delivery_id: str) -> bool:
    sql = f"select 1 from {RAW}.deliveries where delivery_id = ? and status = 'loaded'"
    return _first(con, sql, [delivery_id]) is not None


def applicable(settings: Settings, baseline_id: str | None) -> list[dict]:
    """The acceptances recorded against this baseline, oldest first."""
    if baseline_id is None:
        return []
    return [a for a in read_acceptances(settings) if a["baseline_delivery_id"] == baseline_id]


def accepted_levels(acceptances: list[dict]) -> dict[str, float]:
    """unit -> accepted level (share of the baseline's count); a later acceptance of a unit wins."""
    levels: dict[str, float] = {}
    for a in acceptances:
        for unit in a["units"]:
            levels[unit["org_unit_id"]] = unit["level"]
    return levels


def _relation(levels: dict[str, float]) -> str:
    if not levels:
        return NO_ACCEPTED
    rows = ", ".join(f"({_literal(u)}, {float(v)!r}::double)" for u, v in sorted(levels.items()))
    return f"(select * from (values {rows}) v(unit, level))"


def batch_parameters(
    settings: Settings, con: duckdb.DuckDBPyConnection, max_drop: float
) -> tuple[dict[str, str], Baseline, list[dict]]:
    """Format parameters for the delivery suites' SQL, the baseline, and the acceptances applied."""
    current = current_delivery(con)
    base = baseline(settings, con, current)
    applied = applicable(settings, base.delivery_id)
    params = {
        "current": _literal(current),
        "baseline": _literal(base.delivery_id),
        "accepted": _relation(accepted_levels(applied)),
        "max_drop": repr(float(max_drop)),
    }
    return params, base, applied


def unit_drops(
    con: duckdb.DuckDBPyConnection, delivery_id: str, baseline_id: str, max_drop: float
) -> list[dict]:
    """The units whose goals or follow-ups in `delivery_id` fell by more than max_drop against
    the baseline (the delivery_units suite's own query, before any acceptance)."""
    from orchestration.quality.suites import SUITES

    sql = SUITES["delivery_units"].sql.format(
        raw=RAW, current=_literal(delivery_id), baseline=_literal(baseline_id),
        accepted=NO_ACCEPTED, max_drop=repr(float(max_drop)),
    )  # fmt: skip
    rows = con.execute(
        f"select org_unit_id, goals_ratio, followups_ratio from ({sql}) "
        "where goals_ratio < allowed_ratio or followups_ratio < allowed_ratio order by 1"
    ).fetchall()
    return [
        {"org_unit_id": u, "goals_ratio": round(g, 4), "followups_ratio": round(f, 4),
         "level": round(min(g, f), 4)}
        for u, g, f in rows
    ]  # fmt: skip


def accept(
    settings: Settings, delivery_id: str, by: str, reason: str, units: list[str] | None = None,
    all_units: bool = False, max_drop: float | None = None, now: dt.datetime | None = None,
) -> dict:  # fmt: skip
    """Record that the drops of `delivery_id` (for `units`, or every unit with `all_units`) were
    checked and are real; return the record. Raise AcceptanceError when there is nothing to accept.
    The caller holds the writer lock (the raw layer is read, the state folder written)."""
    from orchestration.quality import gate_connection

    if not by.strip() or not reason.strip():
        raise AcceptanceError("say who accepts (--by) and why (--reason)")
    if bool(units) == all_units:
        raise AcceptanceError(
            "name the units checked (--unit, repeatable) or accept every drop with --all"
        )
    if max_drop is None:
        max_drop = settings.thresholds.max_drop
    if not settings.raw_database.exists():
        raise AcceptanceError(f"no delivery is loaded yet ({settings.raw_database} does not exist)")
    with gate_connection(settings, with_warehouse=False) as con:
        if not _loaded(con, delivery_id):
            raise AcceptanceError(
                f"delivery {delivery_id} is not loaded; loaded deliveries: "
                + (", ".join(r[0] for r in con.execute(
                    f"select delivery_id from {RAW}.deliveries where status = 'loaded' order by seq").fetchall()) or "none")
            )  # fmt: skip
        # Compared with its own municipality's baseline, as the gate compared it.
        base = baseline(settings, con, delivery_id)
        if base.delivery_id is None or base.delivery_id == delivery_id:
            raise AcceptanceError(
                f"delivery {delivery_id} has no drop to accept: there is no other delivery to "
                "compare it with"
                if base.delivery_id is None
                else f"delivery {delivery_id} has no drop to accept: it is the baseline the gate compares with"
            )
        drops = unit_drops(con, delivery_id, base.delivery_id, max_drop)
    if not drops:
        raise AcceptanceError(
            f"delivery {delivery_id} has no drop to accept: no unit's goals or follow-ups fell by "
            f"more than {max_drop:.0%} against delivery {base.delivery_id} ({base.source})"
        )
    if units:
        dropped = {d["org_unit_id"] for d in drops}
        unknown = sorted(set(units) - dropped)
        if unknown:
            raise AcceptanceError(
                f"no drop to accept for unit(s) {', '.join(unknown)} in delivery {delivery_id}; "
                f"units that dropped: {', '.join(sorted(dropped))}"
            )
        drops = [d for d in drops if d["org_unit_id"] in set(units)]
    record = {
        "delivery_id": delivery_id,
        "baseline_delivery_id": base.delivery_id,
        "baseline_source": base.source,
        "units": drops,
        "max_drop": max_drop,
        "accepted_by": mask_cpr(by.strip()),
        "accepted_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "reason": mask_cpr(reason.strip()),
    }
    path = acceptances_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    record["reopened"] = _reopen(settings, delivery_id, record)
    return record


def _reopen(settings: Settings, current: str | None, record: dict) -> str | None:
    """Let the next run gate the accepted delivery again (and, with several municipalities,
    publish it with the others); None when the progress records cannot (no resume mechanism,
    or they do not know the delivery), with the reason."""
    try:
        from orchestration.progress import reopen
    except ImportError:
        return None
    if current is None:
        return None
    why = f"drop of delivery {record['delivery_id']} accepted by {record['accepted_by']}"
    try:
        reopen(settings, current, why)
    except ValueError:
        return None
    return current


def for_manifest(acceptances: list[dict]) -> list[dict]:
    """What a publication's manifest says about the acceptances that let it through."""
    keys = ("delivery_id", "baseline_delivery_id", "units", "accepted_by", "accepted_at", "reason")
    return [{k: a[k] for k in keys} for a in acceptances]

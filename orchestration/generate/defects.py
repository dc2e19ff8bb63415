"""Planted defects with ground truth, so tests can prove the ingest catches each kind.

Row defects are planted so that each defective row has exactly one defect and no other row is
affected: rows that others refer to (citizens, cases, interventions, assessments, goals) get
*extra* defective rows that nothing refers to; leaf rows (scores, follow-ups) may be changed in
place. A duplicate is a copy placed after its original, which the ingest keeps.
File defects damage a whole file after it is written; see `plant_file_defect`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.contract import codelist, load_contract

# Row defect kinds per entity; each kind is the ingest's reason code for it.
ROW_DEFECTS: dict[str, tuple[str, ...]] = {
    "citizens": ("malformed_cpr", "impossible_cpr", "duplicate_key", "unknown_code"),
    "cases": ("orphan_reference", "date_order", "unknown_code", "impossible_date", "missing_value"),
    "interventions": ("orphan_reference", "unknown_code", "date_order"),
    "assessments": ("orphan_reference", "unknown_code", "impossible_date"),
    "assessment_scores": ("out_of_range", "orphan_reference", "duplicate_key", "unknown_code"),
    "goals": ("goal_on_compensating_intervention", "orphan_reference", "unknown_code",
              "duplicate_key"),
    "goal_followups": ("followup_before_goal", "out_of_range", "orphan_reference",
                       "duplicate_key"),
    # The cost files (generated with --costs): budgets are planted once, after the last chunk.
    "grants": ("out_of_range", "missing_value", "unknown_code", "orphan_reference"),
    "payments": ("payment_outside_grant", "out_of_range", "unknown_code", "orphan_reference"),
    "budgets": ("orphan_reference", "unknown_code", "out_of_range"),
}  # fmt: skip
COST_ENTITIES = ("grants", "payments", "budgets")
CSV_ONLY = frozenset({"impossible_date"})  # Parquet's date type cannot hold 30 February
# File defect kinds and the file each damages.
FILE_DEFECTS = {
    "wrong_encoding": "citizens",
    "missing_column": "cases",
    "truncated": "goal_followups",
    "checksum_mismatch": "goals",
    "row_count_mismatch": "interventions",
}
IMPOSSIBLE_DATE = (2019, 2, 30)
ONE_DAY = dt.timedelta(days=1)
MAX_RATE = {r["rate_unit"]: float(r["max_rate_dkk"]) for r in codelist("rate_units")}
GHOST_ID = 990_000_000  # references to rows that do not exist
EXTRA_ID = 900_000_000  # keys of extra defective rows


@dataclass(frozen=True)
class Defect:
    entity: str
    key: str
    kind: str
    file: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"entity": self.entity, "key": self.key, "kind": self.kind, "file": self.file}


@dataclass
class DefectPlanter:
    """Plants row defects chunk by chunk; remembers what it planted."""

    rate: float
    file_format: str
    new_cprs: Callable[[int], np.ndarray]  # fresh, unique, fictitious CPR strings
    date_format: str = "%Y-%m-%d"  # how the files write a date, as a key in a date is read
    planted: list[Defect] = field(default_factory=list)
    _extra: int = EXTRA_ID
    _ghost: int = GHOST_ID

    def kinds(self, entity: str) -> tuple[str, ...]:
        kinds = ROW_DEFECTS[entity]
        if self.file_format != "csv":
            kinds = tuple(k for k in kinds if k not in CSV_ONLY)
        return kinds

    def plant(
        self, tables: dict[str, pa.Table], rng: np.random.Generator, first_chunk: bool
    ) -> tuple[dict[str, pa.Table], list[tuple[str, int, str, tuple]]]:
        """Return the chunk's tables with defects and the CSV text overrides to apply later."""
        overrides: list[tuple[str, int, str, tuple]] = []
        out = dict(tables)
        for entity in ROW_DEFECTS:
            if entity not in out:
                continue
            table = out[entity]
            kinds = self.kinds(entity)
            counts = rng.binomial(table.num_rows, self.rate / len(kinds), len(kinds))
            if first_chunk:  # every kind at least once per delivery, so tests see them all
                counts = np.maximum(counts, 1)
            if table.num_rows < counts.sum() or table.num_rows == 0:
                continue
            rows = rng.choice(table.num_rows, counts.sum(), replace=False)
            extra: list[dict] = []
            base = table.num_rows
            for kind, chosen in zip(kinds, np.split(rows, np.cumsum(counts)[:-1]), strict=True):
                for r in chosen.tolist():
                    table, row, raw = self._one(entity, kind, table, int(r), tables, rng)
                    if row is not None:
                        extra.append(row)
                        if raw:
                            overrides.append((entity, base + len(extra) - 1, *raw))
            if extra:
                table = pa.concat_tables([table, pa.Table.from_pylist(extra, schema=table.schema)])
            out[entity] = table
        return out, overrides

    # Each branch returns (table, extra row or None, csv override (column, text) or None).
    def _one(self, entity, kind, table, r, tables, rng):
        src = table.slice(r, 1).to_pylist()[0]
        row = dict(src)
        raw = None
        key_col = load_contract().entity(entity).key[0]
        if entity in COST_ENTITIES:
            row = self._cost(entity, kind, row, tables)
        elif kind == "duplicate_key":
            pass  # an exact copy, after the original
        elif entity == "citizens":
            cpr = str(self.new_cprs(1)[0])
            if kind == "malformed_cpr":
                row["cpr"] = f"{cpr[:6]}-{cpr[7:9]}X{cpr[10]}"
            elif kind == "impossible_cpr":
                row["cpr"] = f"3002{cpr[4:]}"  # 30 February
            elif kind == "unknown_code":
                row["cpr"], row["target_group"] = cpr, "seniors"
        elif kind in ("followup_before_goal", "out_of_range") and entity in (
            "goal_followups", "assessment_scores"
        ):  # fmt: skip
            return self._in_place(entity, kind, table, r, src, tables, rng), None, None
        else:
            if entity != "assessment_scores":  # a score's key is new through its theme
                row[key_col] = self._next_extra()
            if kind == "orphan_reference":
                parent = {"cases": "cpr", "interventions": "case_id", "assessments": "case_id",
                          "assessment_scores": "assessment_id", "goals": "intervention_id",
                          "goal_followups": "goal_id"}[entity]  # fmt: skip
                row[parent] = str(self.new_cprs(1)[0]) if parent == "cpr" else self._next_ghost()
            elif kind == "unknown_code":
                column, value = {"cases": ("legal_basis", "SEL_999"),
                                 "interventions": ("intervention_type", "rehabilitating"),
                                 "assessments": ("instrument", "VUM3"),
                                 "assessment_scores": ("theme", "sleepiness"),
                                 "goals": ("life_theme", "happiness")}[entity]  # fmt: skip
                row[column] = value
                if entity == "assessment_scores":  # unique, so two such rows never share a key
                    row[column] = f"{value}_{self._next_extra()}"
            elif kind == "date_order":
                start, end = {"cases": ("opened_on", "closed_on"),
                              "interventions": ("started_on", "ended_on")}[entity]  # fmt: skip
                row[end] = row[start] - dt.timedelta(days=int(rng.integers(1, 90)))
            elif kind == "missing_value":
                row["caseworker_id"] = None
            elif kind == "impossible_date":
                column = {"cases": "opened_on", "assessments": "assessed_on"}[entity]
                row[column] = None
                if entity == "cases":
                    row["closed_on"] = None
                raw = (column, IMPOSSIBLE_DATE)
            elif kind == "goal_on_compensating_intervention":
                ints = tables["interventions"]
                comp = np.flatnonzero(
                    pc.equal(ints.column("intervention_type"), "compensating").to_numpy(
                        zero_copy_only=False
                    )
                )
                if len(comp) == 0:
                    return table, None, None
                target = ints.slice(int(rng.choice(comp)), 1).to_pylist()[0]
                row.update(intervention_id=target["intervention_id"], parent_goal_id=None,
                           set_on=target["started_on"],
                           due_on=target["started_on"] + dt.timedelta(days=200))  # fmt: skip
        self.planted.append(Defect(entity, _key(entity, row, self.date_format), kind))
        return table, row, raw

    def _in_place(self, entity, kind, table, r, src, tables, rng) -> pa.Table:
        if entity == "goal_followups" and kind == "followup_before_goal":
            goals = tables["goals"]
            goal = goals.filter(pc.equal(goals.column("goal_id"), src["goal_id"])).to_pylist()[0]
            column, value = (
                "followed_up_on",
                goal["set_on"] - dt.timedelta(days=int(rng.integers(1, 60))),
            )
        elif entity == "goal_followups":
            column, value = "gas_score", int(rng.choice([-3, 3]))
        else:  # assessment score beyond its instrument's scale
            ass = tables["assessments"]
            instrument = (
                ass.filter(pc.equal(ass.column("assessment_id"), src["assessment_id"]))
                .column("instrument")[0]
                .as_py()
            )
            column, value = "score", 11 if instrument == "DIALOG" else 5
        self.planted.append(Defect(entity, _key(entity, src, self.date_format), kind))
        mask = np.zeros(table.num_rows, bool)
        mask[r] = True
        i = table.schema.get_field_index(column)
        new = pc.replace_with_mask(
            table.column(i).combine_chunks(),
            pa.array(mask),
            pa.array([value], table.schema[i].type),
        )
        return table.set_column(i, column, new)

    def _cost(self, entity: str, kind: str, row: dict, tables: dict[str, pa.Table]) -> dict:
        """An extra cost row with one defect: a new key, so nothing refers to it."""
        if entity == "budgets":
            if kind == "orphan_reference":
                row["org_unit_id"] = f"ORG-GHOST-{self._next_ghost()}"
            elif kind == "unknown_code":
                row["target_group"] = "seniors"
            else:  # a negative budget, as a revision the day after (a key of its own)
                row["amount_dkk"], row["revised_on"] = -1000.0, row["revised_on"] + ONE_DAY
            return row
        row[load_contract().entity(entity).key[0]] = self._next_extra()
        if kind == "unknown_code":
            row["function"] = "9.99.99"
        elif kind == "missing_value":
            row["function"] = None
        elif kind == "orphan_reference":
            row["intervention_id"] = self._next_ghost()
            if entity == "payments":
                row["grant_id"] = None
        elif kind == "out_of_range" and entity == "grants":  # ten times its unit's highest rate
            row["rate_dkk"] = 10.0 * MAX_RATE[row["rate_unit"]]
        elif kind == "out_of_range":
            row["amount_dkk"] = -max(row["amount_dkk"], 1.0)
        elif kind == "payment_outside_grant":  # a month before the grant began
            grants = tables["grants"]
            grant = grants.filter(pc.equal(grants.column("grant_id"), row["grant_id"]))
            valid_from = grant.column("valid_from")[0].as_py()
            row["period_from"] = valid_from - dt.timedelta(days=40)
            row["period_to"] = valid_from - dt.timedelta(days=10)
        return row

    def _next_extra(self) -> int:
        self._extra += 1
        return self._extra

    def _next_ghost(self) -> int:
        self._ghost += 1
        return self._ghost


def _key(entity: str, row: dict, date_format: str) -> str:
    """The ground truth's key as the quarantine records it: the key columns as written (a date
    in the file's date format) joined by '|', empty for nulls."""

    def written(value) -> str:
        if value is None:
            return ""
        return value.strftime(date_format) if isinstance(value, dt.date) else str(value)

    return "|".join(written(row[c]) for c in load_contract().entity(entity).key)


def apply_overrides(
    entity: str, table: pa.Table, overrides: list[tuple[str, int, str, tuple]], date_format: str
) -> pa.Table:
    """Write an impossible date, in the dialect's date format, into a rendered string table."""
    for name, index, column, (year, month, day) in overrides:
        if name != entity:
            continue
        text = (
            date_format.replace("%Y", f"{year:04d}")
            .replace("%m", f"{month:02d}")
            .replace("%d", f"{day:02d}")
        )
        i = table.schema.get_field_index(column)
        mask = np.zeros(table.num_rows, bool)
        mask[index] = True
        new = pc.replace_with_mask(
            table.column(i).combine_chunks(), pa.array(mask), pa.array([text])
        )
        table = table.set_column(i, column, new)
    return table


def plant_file_defect(kind: str, delivery: Path, manifest: dict) -> Defect:
    """Damage one written file as `kind` says; the manifest is rewritten where the kind needs it.

    wrong_encoding: the file's bytes are not in the encoding the manifest states.
    missing_column: a required column is gone (manifest updated to match the new file).
    truncated: the file is cut off mid-row (manifest still describes the whole file).
    checksum_mismatch: one byte of a free-text field changes after the manifest was written.
    row_count_mismatch: the manifest claims one row more than the file has.
    """
    if kind not in FILE_DEFECTS:
        raise ValueError(f"unknown file defect {kind!r}; choose from {', '.join(FILE_DEFECTS)}")
    entity = FILE_DEFECTS[kind]
    entry = next(f for f in manifest["files"] if f["entity"] == entity)
    path = delivery / entry["file"]
    data = path.read_bytes()
    csv_info = entry.get("csv")
    if kind == "wrong_encoding":
        if csv_info is None:
            raise ValueError("wrong_encoding applies to CSV deliveries only")
        text = data.decode(csv_info["encoding"])
        # cp1252 bytes in a UTF-8 file are invalid; 0x81 is undefined in cp1252.
        data = (
            text.encode("cp1252")
            if csv_info["encoding"] != "cp1252"
            else data.replace(b"\xf8", b"\x81", 1)
        )
        _rewrite(path, data, entry)
    elif kind == "missing_column":
        column = next(c for c in load_contract().entity(entity).columns if c.required and
                      c.name not in load_contract().entity(entity).key)  # fmt: skip
        _drop_column(path, column.name, csv_info)
        entry["sha256"] = _sha(path.read_bytes())
    elif kind == "truncated":
        path.write_bytes(data[: len(data) * 2 // 3])
    elif kind == "checksum_mismatch":
        at = data.rfind(b"e")
        path.write_bytes(data[:at] + b"a" + data[at + 1 :])
    else:  # row_count_mismatch
        entry["rows"] += 1
    return Defect(entity, "", kind, file=entry["file"])


def _rewrite(path: Path, data: bytes, entry: dict) -> None:
    path.write_bytes(data)
    entry["sha256"] = _sha(data)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _drop_column(path: Path, column: str, csv_info: dict | None) -> None:
    if csv_info is None:
        table = pq.read_table(path)
        pq.write_table(table.drop_columns([column]), path, compression="zstd")
        return
    encoding, delim = csv_info["encoding"], csv_info["delimiter"]
    raw = path.read_bytes().decode(encoding)
    header = raw.partition("\n")[0]
    names = header.rstrip("\r").split(delim)
    idx = names.index(column)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delim, lineterminator="\r\n" if "\r" in header else "\n")
    for rec in csv.reader(io.StringIO(raw, newline=""), delimiter=delim):
        writer.writerow(rec[:idx] + rec[idx + 1 :])
    path.write_bytes(out.getvalue().encode(encoding))


def write_ground_truth(path: Path, delivery_id: str, defects: list[Defect]) -> None:
    rows = sorted((d.as_dict() for d in defects), key=lambda d: (d["entity"], d["kind"], d["key"]))
    path.write_text(
        json.dumps({"delivery_id": delivery_id, "defects": rows}, indent=1, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )

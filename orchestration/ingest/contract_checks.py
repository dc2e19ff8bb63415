"""Row-level contract checks over the raw tables, as set-based DuckDB SQL generated from the contract.

Each check yields findings (entity, source_row, key, reason, column); a row with any error
finding is quarantined by the ingest, every other row loads. Warnings (the CPR modulus-11 check)
are counted, never quarantined. The SQL is built once per entity from the contract, so a new
column rule is a line of YAML, not new code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contract import CODELIST_DIR, Column, Entity, load_contract
from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.ingest.delivery import Manifest, load_raw, read_manifest

KEY_SHOWN_CHARS = 100  # longer keys are cut: ids and codes are short, free text is not

DATE_SHAPE = r"\d{1,2}-\d{1,2}-\d{4}|\d{4}-\d{1,2}-\d{1,2}"
CPR_SHAPE = r"\d{6}-?\d{4}"

CPR_MACROS = r"""
create or replace macro cpr_digits(c) as replace(trim(c), '-', '');
create or replace macro cpr_century(yy, d7) as case
    when d7 <= 3 then 1900
    when d7 in (4, 9) then case when yy <= 36 then 2000 else 1900 end
    else case when yy <= 57 then 2000 else 1800 end end;
create or replace macro cpr_birth_date(c) as case
    when regexp_full_match(trim(c), '\d{6}-?\d{4}') then
        try_strptime(
            printf('%04d-%02d-%02d',
                cpr_century(substr(cpr_digits(c), 5, 2)::int, substr(cpr_digits(c), 7, 1)::int)
                    + substr(cpr_digits(c), 5, 2)::int,
                substr(cpr_digits(c), 3, 2)::int,
                substr(cpr_digits(c), 1, 2)::int
                    - case when substr(cpr_digits(c), 1, 2)::int > 60 then 60 else 0 end),
            '%Y-%m-%d')::date
    end;
create or replace macro cpr_digit(c, i) as substr(cpr_digits(c), i, 1)::int;
create or replace macro cpr_passes_modulus11(c) as (
    4 * cpr_digit(c, 1) + 3 * cpr_digit(c, 2) + 2 * cpr_digit(c, 3) + 7 * cpr_digit(c, 4)
    + 6 * cpr_digit(c, 5) + 5 * cpr_digit(c, 6) + 4 * cpr_digit(c, 7) + 3 * cpr_digit(c, 8)
    + 2 * cpr_digit(c, 9) + 1 * cpr_digit(c, 10)) % 11 = 0;
create or replace macro completed_years(born, on_day) as
    year(on_day) - year(born)
    - case when strftime(on_day, '%m%d') < strftime(born, '%m%d') then 1 else 0 end;
"""


@dataclass(frozen=True)
class CheckResult:
    findings: int
    quarantined_rows: dict[str, int]
    warnings: dict[tuple[str, str, str], int]  # (entity, column, reason) -> rows


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CPR_MACROS)


def load_codelists(con: duckdb.DuckDBPyConnection, schema: str = "codes") -> None:
    con.execute(f"create schema if not exists {schema}")
    for path in sorted(CODELIST_DIR.glob("*.csv")):
        con.execute(
            f"create or replace table {schema}.{path.stem} as select * from "
            f"read_csv('{path}', header=true, all_varchar=true, delim=',', quote='\"')"
        )


def _q(name: str) -> str:
    return f'"{name}"'


def _value(column: Column, decimal_separator: str, date_format: str) -> str:
    """SQL for a column's typed value from its trimmed text (see `parse_entity`), NULL where
    empty or unreadable."""
    c = _q(column.name)
    if column.type == "integer":
        return f"try_cast({c} as bigint)"
    if column.type == "decimal":
        if decimal_separator != ".":
            c = f"replace({c}, '{decimal_separator}', '.')"
        return f"try_cast({c} as double)"
    if column.type == "date":
        return f"try_strptime({c}, '{date_format}')::date"
    return c


def _key_sql(entity: Entity) -> str:
    return " || '|' || ".join(f"coalesce({_q(k)}, '')" for k in entity.key)


TYPED_AS_TEXT = ("cpr", "string", "code", "text")


def parse_entity(con, entity: Entity, raw_schema: str, decimal_separator: str, date_format: str):
    """chk.<entity>: source_row, each column's text trimmed (NULL where empty), the key, each
    column typed as `<column>__v`, and a CPR column's birth date as `<column>__born`.

    Trimmed, typed and keyed once into a table (`chk.<entity>__parsed`), so that the many rules
    after it filter plain columns: trimming text is most of what a rule costs (0.7 s per column
    of 7 million scores), and a view would trim again for every rule. The text columns' typed
    value is their trimmed text, so the view gives it a second name at no cost."""
    trimmed = ", ".join(f"nullif(trim({_q(c.name)}), '') as {_q(c.name)}" for c in entity.columns)
    con.execute(
        f"create or replace table chk.{entity.name}__parsed as select source_row, {trimmed} "
        f"from {raw_schema}.{entity.name}"
    )
    typed = ", ".join(
        f"{_value(c, decimal_separator, date_format)} as {_q(c.name + '__v')}"
        for c in entity.columns
        if c.type not in TYPED_AS_TEXT
    )
    born = ", ".join(
        f"cpr_birth_date({_q(c.name)}) as {_q(c.name + '__born')}"
        for c in entity.columns
        if c.type == "cpr"
    )
    extra = ", ".join(x for x in (typed, born) if x)
    con.execute(
        f"create or replace table chk.{entity.name}__parsed as select *, "
        f"{_key_sql(entity)} as _key{', ' + extra if extra else ''} "
        f"from chk.{entity.name}__parsed"
    )
    as_text = ", ".join(
        f"{_q(c.name)} as {_q(c.name + '__v')}" for c in entity.columns if c.type in TYPED_AS_TEXT
    )
    con.execute(
        f"create or replace view chk.{entity.name} as select *"
        f"{', ' + as_text if as_text else ''} from chk.{entity.name}__parsed"
    )


def _column_checks(entity: Entity) -> list[str]:
    """SELECTs of (source_row, _key, reason, column) for single-column rules."""
    t = f"chk.{entity.name}"
    out = []

    def rule(column: str, reason: str, condition: str) -> None:
        out.append(
            f"select source_row, _key, '{reason}' as reason, '{column}' as column_name "
            f"from {t} where {condition}"
        )

    for c in entity.columns:
        raw, v = _q(c.name), _q(c.name + "__v")  # trimmed text (NULL where empty), typed
        if c.required:
            rule(c.name, "missing_value", f"{raw} is null")
        if c.type in ("integer", "decimal"):
            rule(c.name, "invalid_value", f"{raw} is not null and {v} is null")
        elif c.type == "date":
            rule(c.name, "impossible_date",
                 f"{v} is null and regexp_full_match({raw}, '{DATE_SHAPE}')")  # fmt: skip
            rule(c.name, "invalid_value",
                 f"{raw} is not null and not regexp_full_match({raw}, '{DATE_SHAPE}')")  # fmt: skip
        elif c.type == "cpr":
            rule(
                c.name,
                "malformed_cpr",
                f"{raw} is not null and not regexp_full_match({raw}, '{CPR_SHAPE}')",
            )
            rule(c.name, "impossible_cpr",
                 f"regexp_full_match({raw}, '{CPR_SHAPE}') and {_q(c.name + '__born')} is null")  # fmt: skip
        if c.codelist:
            file, col = c.codelist.split(".")
            rule(
                c.name,
                "unknown_code",
                f"{v} is not null and {v} not in (select {_q(col)} from codes.{file})",
            )
        if c.min is not None:
            rule(c.name, "out_of_range", f"{v} < {c.min}")
        if c.max is not None:
            rule(c.name, "out_of_range", f"{v} > {c.max}")
    for start, end in entity.date_order:
        rule(end, "date_order", f"{_q(end + '__v')} < {_q(start + '__v')}")
    # Every row of a key after its first; numbered only where a key comes more than once.
    nonnull = f"{_q(entity.key[0])} is not null"
    out.append(
        f"select source_row, _key, 'duplicate_key', '{entity.key[0]}' from ("
        f"select source_row, _key, row_number() over (partition by _key order by source_row) as n "
        f"from {t} where {nonnull} and _key in "
        f"(select _key from {t} where {nonnull} group by _key having count(*) > 1)) where n > 1"
    )
    for c in entity.columns:
        if c.reference:
            parent, pcol = c.reference
            out.append(
                f"select source_row, _key, 'orphan_reference', '{c.name}' from {t} "
                f"where {_q(c.name)} is not null and {_q(c.name)} not in "
                f"(select {_q(pcol)} from chk.{parent} where {_q(pcol)} is not null)"
            )
    return out


# Rules that need other columns or entities. Each SELECT yields (source_row, _key, reason, column).
# `first_<entity>` holds the row kept for each key (the first in file order).
CROSS_RULES: dict[str, list[str]] = {
    "org_units": [
        "select source_row, _key, 'missing_value', 'org_role' from chk.org_units "
        "where level__v = 3 and org_role__v is null",
        "select source_row, _key, 'missing_value', 'operating_area' from chk.org_units "
        "where level__v in (2, 3) and operating_area__v is null",
        "select source_row, _key, 'missing_value', 'parent_org_unit_id' from chk.org_units "
        "where level__v in (2, 3) and parent_org_unit_id__v is null",
    ],
    "assessments": [
        """select a.source_row, a._key, 'instrument_not_valid_on_date', 'instrument'
           from chk.assessments a join codes.instruments i on a.instrument__v = i.instrument
           where a.assessed_on__v not between i.valid_from::date and i.valid_to::date""",
        """select a.source_row, a._key, 'instrument_wrong_age', 'instrument'
           from chk.assessments a join codes.instruments i on a.instrument__v = i.instrument
           where a.assessed_on__v is not null and a.cpr__born is not null
             and (completed_years(a.cpr__born, a.assessed_on__v) >= {adult_age})
                 <> (i.instrument_family = 'VUM')""",
    ],
    "assessment_scores": [
        """select s.source_row, s._key, 'unknown_code', 'theme'
           from chk.assessment_scores s
           join chk.first_assessments a on s.assessment_id = a.k
           join codes.instruments i on a.instrument__v = i.instrument
           where s.theme__v in (select theme from codes.assessment_themes)
             and s.theme__v not in (select theme from codes.assessment_themes t
                                    where t.instrument_family = i.instrument_family)""",
        """select s.source_row, s._key, 'missing_value', 'sub_theme'
           from chk.assessment_scores s join chk.first_assessments a on s.assessment_id = a.k
           where a.instrument__v = 'VUM2' and s.sub_theme__v is null""",
        """select s.source_row, s._key, 'unknown_code', 'sub_theme'
           from chk.assessment_scores s join chk.first_assessments a on s.assessment_id = a.k
           left join codes.vum2_crosswalk x on s.sub_theme__v = x.sub_theme
           where s.sub_theme__v is not null and a.instrument__v in (select instrument from codes.instruments)
             and s.theme__v in (select theme from codes.assessment_themes)
             and (a.instrument__v <> 'VUM2' or (x.sub_theme is not null and x.vum_theme <> s.theme__v))""",
        """select s.source_row, s._key, 'out_of_range', 'score'
           from chk.assessment_scores s
           join chk.first_assessments a on s.assessment_id = a.k
           join codes.instruments i on a.instrument__v = i.instrument
           where s.score__v not between i.scale_min::int and i.scale_max::int""",
    ],
    "goals": [
        """select source_row, _key, 'unknown_code', 'sub_theme' from chk.goals
           where life_theme__v in (select life_theme from codes.life_themes)
             and sub_theme__v in (select sub_theme from codes.life_themes)
             and (life_theme__v, sub_theme__v) not in (select (life_theme, sub_theme) from codes.life_themes)""",
        """select g.source_row, g._key, 'goal_on_compensating_intervention', 'intervention_id'
           from chk.goals g join chk.first_interventions i on g.intervention_id = i.k
           where i.intervention_type__v = 'compensating'""",
    ],
    "goal_followups": [
        """select f.source_row, f._key, 'followup_before_goal', 'followed_up_on'
           from chk.goal_followups f join chk.first_goals g on f.goal_id = g.k
           where f.followed_up_on__v < g.set_on__v""",
    ],
    "grants": [
        "select source_row, _key, 'missing_value', 'hours_per_week' from chk.grants "
        "where rate_unit__v = 'hour' and hours_per_week__v is null",
        # An absurd rate: above its unit's maximum (a day's rate of a month's size, say).
        """select g.source_row, g._key, 'out_of_range', 'rate_dkk'
           from chk.grants g join codes.rate_units u on g.rate_unit__v = u.rate_unit
           where g.rate_dkk__v > u.max_rate_dkk::double""",
    ],
    "payments": [
        """select p.source_row, p._key, 'payment_outside_grant', 'period_from'
           from chk.payments p join chk.first_grants g on p.grant_id = g.k
           where p.period_from__v < g.valid_from__v
              or p.period_to__v > coalesce(g.valid_to__v, date '9999-12-31')""",
        """select p.source_row, p._key, 'payment_outside_grant', 'grant_id'
           from chk.payments p join chk.first_grants g on p.grant_id = g.k
           where p.intervention_id__v <> g.intervention_id__v""",
    ],
}


def _cascade(
    con: duckdb.DuckDBPyConnection, contract, raw_schema: str, files: dict[str, str]
) -> None:
    """Quarantine rows whose parent is in the delivery but every row of it is quarantined.

    Without this a loaded row could point at nothing. Repeats until nothing changes, for chains
    (citizen -> case -> intervention -> goal -> follow-up) and goals' parent goals.
    """
    findings = f"{raw_schema}.findings"
    while True:
        added = 0
        for name, entity in contract.entities.items():
            for c in entity.columns:
                if not c.reference:
                    continue
                parent, pcol = c.reference
                col, pcol = _q(c.name), _q(pcol)
                (n,) = con.execute(f"""
                    insert into {findings}
                    select '{name}', '{files[name]}', ch.source_row, ch._key,
                           'parent_quarantined', '{c.name}'
                    from chk.{name} ch
                    where ch.{col} in (
                            select p.{pcol} from chk.{parent} p
                            where p.source_row in (select source_row from {findings} where entity = '{parent}'))
                      and ch.{col} not in (
                            select p.{pcol} from chk.{parent} p where p.{pcol} is not null
                              and p.source_row not in (select source_row from {findings} where entity = '{parent}'))
                      and ch.source_row not in (select source_row from {findings} where entity = '{name}')
                """).fetchone()
                added += n
        if added == 0:
            return


def check_delivery(
    con: duckdb.DuckDBPyConnection, manifest: Manifest, raw_schema: str = "raw"
) -> CheckResult:
    """Run every contract check; write `<raw_schema>.findings` and `<raw_schema>.warnings`."""
    contract = load_contract()
    con.execute("create schema if not exists chk")
    install_macros(con)
    load_codelists(con)
    for name, entity in contract.entities.items():
        spec = manifest.spec(name)
        parse_entity(con, entity, raw_schema, spec.decimal_separator, spec.date_format)
    for name in ("assessments", "interventions", "goals", "grants"):  # tables: rules join them
        con.execute(
            f"create or replace table chk.first_{name} as select * exclude (n) from ("
            f"select *, {_q(contract.entity(name).key[0])} as k, "
            f"row_number() over (partition by _key order by source_row) as n from chk.{name}) "
            f"where n = 1"
        )
    selects = []
    for name, entity in contract.entities.items():
        rules = _column_checks(entity) + [
            r.replace("{adult_age}", str(contract.adult_age)) for r in CROSS_RULES.get(name, [])
        ]
        file = manifest.spec(name).file
        selects += [f"select '{name}' as entity, '{file}' as file, * from ({r})" for r in rules]
    con.execute(
        f"create or replace table {raw_schema}.findings as "
        f"select distinct entity, file, source_row, _key as key, reason, column_name from ("
        + "\nunion all\n".join(selects)
        + ") order by entity, source_row, reason"
    )
    _cascade(con, contract, raw_schema, {n: manifest.spec(n).file for n in contract.entities})
    warnings = {}
    for name, entity in contract.entities.items():
        for c in entity.columns:
            if c.type == "cpr":
                (n,) = con.execute(
                    f"select count(*) from chk.{name} where {_q(c.name + '__born')} is not null "
                    f"and not cpr_passes_modulus11({_q(c.name)})"
                ).fetchone()
                warnings[name, c.name, "cpr_modulus11"] = n
    (total,) = con.execute(f"select count(*) from {raw_schema}.findings").fetchone()
    per_entity = dict(
        con.execute(
            f"select entity, count(distinct source_row) from {raw_schema}.findings group by 1"
        ).fetchall()
    )
    return CheckResult(total, per_entity, warnings)


def key_is_personal(entity: Entity) -> bool:
    """True where a key column is personal data (the citizens' key is the CPR number)."""
    return any(entity.column(k).personal for k in entity.key)


def reportable_findings(
    con: duckdb.DuckDBPyConnection, raw_schema: str = "raw"
) -> list[dict[str, str | int | None]]:
    """Every finding of `check_delivery` as entity, file, source_row, key, column, reason.

    Safe to print: no value of the row is included, the key is None where it is personal, and
    other keys (the case system's own ids, `|`-joined where the key has several columns) have
    anything shaped like a CPR number redacted and are cut to KEY_SHOWN_CHARS. Ordered by
    entity in contract order, then row.
    """
    contract = load_contract()
    rows = con.execute(
        f"select entity, file, source_row, key, column_name, reason from {raw_schema}.findings "
        "order by list_position(?, entity), source_row, reason, column_name",
        [list(contract.entities)],
    ).fetchall()
    personal = {name for name, e in contract.entities.items() if key_is_personal(e)}
    out = []
    for entity, file, source_row, key, column, reason in rows:
        if entity in personal or key is None:
            shown = None
        else:
            shown = CPR_IN_TEXT.sub("[redacted]", key)
            if len(shown) > KEY_SHOWN_CHARS:
                shown = shown[: KEY_SHOWN_CHARS - 1] + "…"
        out.append({"entity": entity, "file": file, "source_row": source_row, "key": shown,
                    "column": column, "reason": reason})  # fmt: skip
    return out


@dataclass(frozen=True)
class CheckedDelivery:
    manifest: Manifest
    rows_read: dict[str, int]  # per entity
    checked: CheckResult


def read_and_check(
    con: duckdb.DuckDBPyConnection, folder: Path, manifest: Manifest | None = None,
    schema: str = "raw",
) -> CheckedDelivery:  # fmt: skip
    """Read a delivery's files into `<schema>.<entity>` and check every row against the
    contract (findings in `<schema>.findings`): what `effekt validate`, the ingest and the tests
    share. A file-level problem raises DeliveryRefused naming every file that has one."""
    manifest = manifest or read_manifest(folder)
    rows = load_raw(con, folder, manifest, schema=schema)
    return CheckedDelivery(manifest, rows, check_delivery(con, manifest, raw_schema=schema))

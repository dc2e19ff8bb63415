"""The quality gate's expectation suites: what is checked, how bad a failure is, and why.

Each suite validates one DuckDB query over the warehouse (and, for the delivery suite, the raw
layer's aggregates). Helper columns in the query turn references and cross-table rules into
single-table expectations, and every row carries the columns that identify it in reports:
delivery, entity, key, unit and source row, never a CPR number or free text.

The suites are defined here once, in code: each check constructs its `gx.expectations` class with
its severity and explanations in `meta`, and the gate builds a suite from them with the
thresholds of its run (Suite.expectation_suite). Nothing is written to files and read back, so
there is no copy to go stale; expectations/README.md says why there is no GX project folder.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field

import great_expectations as gx
import great_expectations.expectations as gxe

from orchestration.contract import codelist_values
from orchestration.contract.cpr import CPR_IN_TEXT_SQL
from orchestration.settings import Thresholds

ID_COLUMNS = ["delivery_id", "entity", "row_key", "org_unit_id", "source_row"]
CPR_LIKE = CPR_IN_TEXT_SQL  # no capture groups: pandas warns on them
# Expectations that judge each row on its own, so a suite of only these can be validated in
# batches and its failures added up (a unique key needs the whole table at once).
ROW_WISE = (
    gxe.ExpectColumnValuesToBeBetween, gxe.ExpectColumnValuesToBeInSet, gxe.ExpectColumnValuesToBeNull,
    gxe.ExpectColumnValuesToNotBeNull, gxe.ExpectColumnValuesToNotMatchRegex,
    gxe.ExpectColumnPairValuesAToBeGreaterThanB,
)  # fmt: skip


@dataclass(frozen=True)
class Check:
    """One expectation, with its severity ("error" blocks publishing; "warning" publishes and is
    listed) and a plain explanation for quality coordinators in its meta."""

    expectation: gxe.Expectation
    # kwarg -> the Thresholds field that overrides its value (a setting of the run)
    threshold: dict[str, str] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return self.expectation.meta["severity"]

    @property
    def kwargs(self) -> dict:
        return self.expectation.configuration.kwargs

    def build(self, thresholds: Thresholds) -> gxe.Expectation:
        """A copy with the thresholds filled in. A copy also because GX gives an expectation an
        id when its suite is added to a context, which a shared one would carry into the next."""
        update = {kwarg: getattr(thresholds, name) for kwarg, name in self.threshold.items()}
        return self.expectation.copy(deep=True, update=update)


@dataclass(frozen=True)
class Suite:
    name: str
    guards: tuple[str, ...]  # the asset the suite's check is attached to
    sql: str  # the batch; {raw} is the attached raw layer
    checks: list[Check] = field(default_factory=list)
    # Row-level suites on a daily run: the batch column and the keys of the rows to validate
    # (see _changed); None validates every row (table-level and plausibility suites).
    scope: tuple[str, str] | None = None

    @property
    def row_wise(self) -> bool:
        return all(isinstance(c.expectation, ROW_WISE) for c in self.checks)

    def expectation_suite(self, thresholds: Thresholds) -> gx.ExpectationSuite:
        """The suite for GX, with the thresholds of this run; its meta shows in the Data Docs."""
        return gx.ExpectationSuite(
            name=self.name,
            expectations=[c.build(thresholds) for c in self.checks],
            meta=self.meta(),
        )

    def meta(self) -> dict:
        meta = {"guards": "/".join(self.guards), "batch_sql": " ".join(self.sql.split())}
        if self.scope:
            column, keys = self.scope
            meta["daily_scope"] = {"column": column, "keys_sql": " ".join(keys.split())}
        return meta

    def definition(self, thresholds: Thresholds) -> dict:
        """Everything that decides the suite's verdict on a row, as plain JSON values."""
        expectations = [
            {"type": e.expectation_type, "kwargs": e.configuration.kwargs, "meta": e.meta}
            for e in (c.build(thresholds) for c in self.checks)
        ]
        return {"name": self.name, "meta": self.meta(), "expectations": expectations}


def _changed(entity: str, key: str, parents: dict[str, str] | None = None) -> tuple[str, str]:
    """The staged rows a daily run validates: rows whose version came in a delivery after the
    published one ({new}), and rows whose parent's did (a rule may read the parent). Every other
    row passed these rules in the published version, and the rules have not changed since (the
    gate validates every row when they have; see gate.row_scope)."""
    conditions = ["own.delivery_id in {new}"] + [
        f"own.{column} in (select {pkey} from staging.stg_{parent} where delivery_id in {{new}})"
        for column, (parent, pkey) in ((c, p.split(".")) for c, p in (parents or {}).items())
    ]
    batch_column = "citizen_key" if entity == "citizens" else "row_key"
    return batch_column, (
        f"select cast(own.{key} as varchar) from staging.stg_{entity} own where "
        + " or ".join(conditions)
    )


def _explained(severity: str, da: str, en: str) -> dict:
    return {"severity": severity, "explanation_da": da, "explanation_en": en}


def _err(expectation: type[gxe.Expectation], da, en, threshold=None, **kwargs) -> Check:
    return Check(expectation(**kwargs, meta=_explained("error", da, en)), threshold or {})


def _warn(expectation: type[gxe.Expectation], da, en, threshold=None, **kwargs) -> Check:
    return Check(expectation(**kwargs, meta=_explained("warning", da, en)), threshold or {})


def _unique(column: str, what_da: str, what_en: str) -> Check:
    return _err(gxe.ExpectColumnValuesToBeUnique, f"Samme {what_da} forekommer flere gange.",
                f"The same {what_en} occurs more than once.", column=column)  # fmt: skip


def _exists(column: str, what_da: str, what_en: str) -> Check:
    return _err(gxe.ExpectColumnValuesToBeInSet, f"Rækken henviser til {what_da}, som ikke findes.",
                f"The row refers to a {what_en} that does not exist.", column=column, value_set=[True])  # fmt: skip


def _in(column: str, codelist: str, what_da: str, what_en: str) -> Check:
    return _err(gxe.ExpectColumnValuesToBeInSet, f"Ukendt {what_da}.", f"Unknown {what_en}.",
                column=column, value_set=codelist_values(codelist))  # fmt: skip


def _after(later: str, earlier: str, da: str, en: str) -> Check:
    return _err(gxe.ExpectColumnPairValuesAToBeGreaterThanB, da, en, column_A=later, column_B=earlier,
                or_equal=True, ignore_row_if="either_value_is_missing")  # fmt: skip


def _first(table: str, key: str) -> str:
    """One row per key of a parent table, so a duplicated parent never multiplies its children."""
    return (
        f"(select * from {table} qualify row_number() over (partition by {key} order by {key}) = 1)"
    )


def _as_of(sql: str) -> str:
    """Spell out AS_OF(t): the versions of raw table t that the compared delivery `c` (with its
    `seq` and `municipality_code`) held. The raw layer keeps one row per version, not a copy per
    delivery, and a history per municipality."""
    return re.sub(
        r"AS_OF\((\w+)\)",
        r"\1._first_seq <= c.seq and (\1._last_seq is null or \1._last_seq >= c.seq)"
        r" and \1._municipality_code is not distinct from c.municipality_code",
        sql,
    )


def _ids(entity: str, key: str, unit: str, alias: str | None = None) -> str:
    """The identifying columns of a batch row; `alias` is the table the row comes from."""
    own = f"{alias}." if alias else ""
    return (f"{own}delivery_id, '{entity}' as entity, cast({key} as varchar) as row_key, "
            f"{unit} as org_unit_id, {own}source_row")  # fmt: skip


# A budget line's key, as the ingest writes keys: its columns joined by '|', empty for null.
BUDGET_KEY = ("b.budget_year || '|' || b.org_unit_id || '|' || b.function || '|' || "
              "coalesce(b.target_group, '') || '|' || b.revised_on")  # fmt: skip

STAGED = [
    Suite("stg_org_units", ("staging", "stg_org_units"),
          f"select {_ids('org_units', 'org_unit_id', 'org_unit_id')}, org_level, org_role, opened_on, closed_on "
          "from staging.stg_org_units", [
        _unique("row_key", "enhed", "unit"),
        _err(gxe.ExpectColumnValuesToBeInSet, "Niveau skal være 1, 2 eller 3.", "Level must be 1, 2 or 3.",
             column="org_level", value_set=[1, 2, 3]),
        _after("closed_on", "opened_on", "Enheden lukker før den åbner.", "The unit closes before it opens."),
    ]),
    Suite("stg_citizens", ("staging", "stg_citizens"),
          f"select {_ids('citizens', 'null', 'null')}, citizen_key, sex, birth_year, target_group "
          "from staging.stg_citizens", [
        _err(gxe.ExpectColumnValuesToBeUnique, "Samme borger forekommer flere gange.",
             "The same citizen occurs more than once.", column="citizen_key"),
        _err(gxe.ExpectColumnValuesToBeInSet, "Køn skal være M eller F.", "Sex must be M or F.",
             column="sex", value_set=["M", "F"]),
        _err(gxe.ExpectColumnValuesToBeBetween, "Fødselsåret er ikke troværdigt.", "The birth year is not plausible.",
             column="birth_year", min_value=1900, max_value=2100),
        _in("target_group", "target_groups.target_group", "målgruppe", "target group"),
    ]),
    Suite("stg_cases", ("staging", "stg_cases"),
          f"select {_ids('cases', 'c.case_id', 'c.authority_org_unit_id', 'c')}, c.legal_basis, c.opened_on, c.closed_on, "
          "c.citizen_key in (select citizen_key from staging.stg_citizens) as citizen_exists, "
          "c.authority_org_unit_id in (select org_unit_id from staging.stg_org_units where org_role = 'authority') "
          "as authority_exists from staging.stg_cases c", [
        _unique("row_key", "sag", "case"),
        _exists("citizen_exists", "en borger", "citizen"),
        _exists("authority_exists", "en myndighedsenhed", "authority unit"),
        _in("legal_basis", "legal_bases.legal_basis", "lovgrundlag", "legal basis"),
        _after("closed_on", "opened_on", "Sagen er lukket før den er åbnet.", "The case closes before it opens."),
    ]),
    Suite("stg_interventions", ("staging", "stg_interventions"),
          f"select {_ids('interventions', 'i.intervention_id', 'i.provider_org_unit_id', 'i')}, i.intervention_type, "
          "i.started_on, i.ended_on, i.case_id in (select case_id from staging.stg_cases) as case_exists, "
          "i.provider_org_unit_id in (select org_unit_id from staging.stg_org_units where org_role = 'provider') "
          "as provider_exists from staging.stg_interventions i", [
        _unique("row_key", "indsats", "intervention"),
        _exists("case_exists", "en sag", "case"),
        _exists("provider_exists", "en udførerenhed", "provider unit"),
        _in("intervention_type", "intervention_types.intervention_type", "indsatstype", "intervention type"),
        _after("ended_on", "started_on", "Indsatsen slutter før den starter.", "The intervention ends before it starts."),
    ]),
    Suite("stg_assessments", ("staging", "stg_assessments"),
          f"select {_ids('assessments', 'a.assessment_id', 'a.assessor_org_unit_id', 'a')}, a.instrument, "
          "a.case_id in (select case_id from staging.stg_cases) as case_exists, "
          "a.assessed_on between i.valid_from::date and i.valid_to::date as instrument_valid_on_date "
          "from staging.stg_assessments a left join codes.instruments i using (instrument)", [
        _unique("row_key", "udredning", "assessment"),
        _exists("case_exists", "en sag", "case"),
        _in("instrument", "instruments.instrument", "udredningsværktøj", "assessment instrument"),
        _err(gxe.ExpectColumnValuesToBeInSet, "Værktøjet var ikke i brug på datoen (VUM2008 før, VUM2 efter 15. maj 2017).",
             "The instrument was not in use on that day (VUM2008 before, VUM2 after 15 May 2017).",
             column="instrument_valid_on_date", value_set=[True]),
    ]),
    Suite("stg_assessment_scores", ("staging", "stg_assessment_scores"),
          f"select {_ids('assessment_scores', 's.assessment_id', 'a.assessor_org_unit_id', 's')}, s.theme, s.score, "
          "a.assessment_id is not null as assessment_exists, "
          "s.score between cast(i.scale_min as integer) and cast(i.scale_max as integer) as score_in_range "
          f"from staging.stg_assessment_scores s left join {_first('staging.stg_assessments', 'assessment_id')} a using (assessment_id) "
          "left join codes.instruments i on i.instrument = a.instrument", [
        _exists("assessment_exists", "en udredning", "assessment"),
        _in("theme", "assessment_themes.theme", "tema", "theme"),
        _err(gxe.ExpectColumnValuesToBeInSet, "Scoren ligger uden for værktøjets skala (VUM 0-4, Dialoglinealen 1-10).",
             "The score is outside the instrument's scale (VUM 0-4, dialogue ruler 1-10).",
             column="score_in_range", value_set=[True]),
    ]),
    Suite("stg_goals", ("staging", "stg_goals"),
          f"select {_ids('goals', 'g.goal_id', 'i.provider_org_unit_id', 'g')}, g.goal_type, g.life_theme, g.weight, "
          "g.set_on, g.due_on, i.intervention_id is not null as intervention_exists, "
          "coalesce(i.intervention_type, '') <> 'compensating' as not_on_compensating "
          f"from staging.stg_goals g left join {_first('staging.stg_interventions', 'intervention_id')} i using (intervention_id)", [
        _unique("row_key", "mål", "goal"),
        _exists("intervention_exists", "en indsats", "intervention"),
        _err(gxe.ExpectColumnValuesToBeInSet, "Mål må ikke sættes for kompenserende indsatser.",
             "Goals must not be set for compensating interventions.", column="not_on_compensating", value_set=[True]),
        _in("goal_type", "goal_types.goal_type", "måltype", "goal type"),
        _in("life_theme", "life_themes.life_theme", "livstema", "life theme"),
        _after("due_on", "set_on", "Målets frist ligger før det er sat.", "The goal is due before it was set."),
        _warn(gxe.ExpectColumnValuesToBeBetween, "Usædvanlig vægt på målet.", "Unusual weight on the goal.",
              column="weight", min_value=0.25, max_value=5),
    ]),
    Suite("stg_goal_followups", ("staging", "stg_goal_followups"),
          f"select {_ids('goal_followups', 'f.followup_id', 'g.provider_org_unit_id', 'f')}, f.gas_score, "
          "f.followed_up_on, g.set_on as goal_set_on, g.goal_id is not null as goal_exists "
          f"from staging.stg_goal_followups f left join {_first('marts.fct_goals', 'goal_id')} g using (goal_id)", [
        _unique("row_key", "opfølgning", "follow-up"),
        _exists("goal_exists", "et mål", "goal"),
        _err(gxe.ExpectColumnValuesToBeBetween, "GAS-scoren skal ligge fra -2 til +2.", "The GAS score must be from -2 to +2.",
             column="gas_score", min_value=-2, max_value=2),
        _after("followed_up_on", "goal_set_on", "Opfølgningen er dateret før målet blev sat.",
               "The follow-up is dated before the goal was set."),
    ]),
    # The cost files (contract 1.1); empty, and passing, without cost data.
    Suite("stg_grants", ("staging", "stg_grants"),
          f"select {_ids('grants', 'g.grant_id', 'i.provider_org_unit_id', 'g')}, g.rate_dkk, g.rate_unit, "
          "g.function, g.valid_from, g.valid_to, i.intervention_id is not null as intervention_exists, "
          "g.rate_dkk <= cast(u.max_rate_dkk as double) as rate_within_unit_max, "
          "g.rate_unit <> 'hour' or g.hours_per_week is not null as hours_given "
          f"from staging.stg_grants g left join {_first('staging.stg_interventions', 'intervention_id')} i "
          "using (intervention_id) left join codes.rate_units u on u.rate_unit = g.rate_unit", [
        _unique("row_key", "bevilling", "grant"),
        _exists("intervention_exists", "en indsats", "intervention"),
        _in("rate_unit", "rate_units.rate_unit", "takstenhed", "rate unit"),
        _in("function", "functions.function", "funktion i kontoplanen", "chart of accounts function"),
        _err(gxe.ExpectColumnValuesToBeInSet, "Taksten er højere end takstenhedens højeste.",
             "The rate is above its rate unit's highest.", column="rate_within_unit_max", value_set=[True]),
        _err(gxe.ExpectColumnValuesToBeInSet, "En timetakst mangler timer pr. uge.",
             "An hour rate has no hours per week.", column="hours_given", value_set=[True]),
        _after("valid_to", "valid_from", "Bevillingen slutter før den begynder.", "The grant ends before it begins."),
    ]),
    Suite("stg_payments", ("staging", "stg_payments"),
          f"select {_ids('payments', 'p.payment_id', 'i.provider_org_unit_id', 'p')}, p.amount_dkk, p.function, "
          "p.period_from, p.period_to, i.intervention_id is not null as intervention_exists, "
          "g.grant_id is null or (p.period_from >= g.valid_from and p.period_to <= coalesce(g.valid_to, p.period_to) "
          "and g.intervention_id = p.intervention_id) as inside_grant "
          f"from staging.stg_payments p left join {_first('staging.stg_interventions', 'intervention_id')} i "
          f"using (intervention_id) left join {_first('staging.stg_grants', 'grant_id')} g on g.grant_id = p.grant_id", [
        _unique("row_key", "udbetaling", "payment"),
        _exists("intervention_exists", "en indsats", "intervention"),
        _in("function", "functions.function", "funktion i kontoplanen", "chart of accounts function"),
        _err(gxe.ExpectColumnValuesToBeBetween, "Beløbet er negativt eller urimeligt stort.",
             "The amount is negative or absurdly large.", column="amount_dkk", min_value=0, max_value=5_000_000),
        _err(gxe.ExpectColumnValuesToBeInSet, "Udbetalingen ligger uden for sin bevillings periode eller indsats.",
             "The payment lies outside its grant's period or intervention.", column="inside_grant", value_set=[True]),
        _after("period_to", "period_from", "Perioden slutter før den begynder.", "The period ends before it begins."),
    ]),
    Suite("stg_budgets", ("staging", "stg_budgets"),
          f"select {_ids('budgets', BUDGET_KEY, 'b.org_unit_id', 'b')}, b.amount_dkk, b.function, "
          "b.org_unit_id in (select org_unit_id from staging.stg_org_units) as unit_exists "
          "from staging.stg_budgets b", [
        _unique("row_key", "budgetlinje", "budget line"),
        _exists("unit_exists", "en enhed", "unit"),
        _in("function", "functions.function", "funktion i kontoplanen", "chart of accounts function"),
        _err(gxe.ExpectColumnValuesToBeBetween, "Budgettet er negativt.", "The budget is negative.",
             column="amount_dkk", min_value=0),
    ]),
]  # fmt: skip

# The delivery against the baseline: the delivery that was current in the published version, so
# a drop that persists stays blocked (before anything is published: the previous loaded
# delivery). Format parameters filled in by the gate (see acceptance.batch_parameters):
# {current} and {baseline} are delivery ids as SQL literals, {accepted} a relation (unit, level)
# of the drops an operator accepted against this baseline (`effekt accept`), whose accepted level
# becomes the unit's reference, and {max_drop} the allowed drop. Other thresholds are defaults
# that meta.threshold names for the settings to override (see gate.Thresholds).
DELIVERY = [
    Suite("delivery_units", ("raw", "deliveries"),
          _as_of("""with current as (select {current} as delivery_id),
          baseline as (select {baseline} as delivery_id),
          accepted as (select * from {accepted}),
          compared as (select delivery_id as d, seq, municipality_code from {raw}.deliveries
                       where delivery_id in (select delivery_id from current union all select delivery_id from baseline)),
          goal_units as (select c.d, i.provider_org_unit_id as unit, count(*) as goals
                         from compared c join {raw}.goals g on AS_OF(g) join {raw}.interventions i
                           on i.intervention_id = g.intervention_id and AS_OF(i)
                         group by 1, 2),
          followup_units as (select c.d, i.provider_org_unit_id as unit, count(*) as followups
                             from compared c join {raw}.goal_followups f on AS_OF(f)
                             join {raw}.goals g on g.goal_id = f.goal_id and AS_OF(g)
                             join {raw}.interventions i on i.intervention_id = g.intervention_id and AS_OF(i)
                             group by 1, 2)
          select (select delivery_id from current) as delivery_id, 'deliveries' as entity, p.unit as row_key,
                 p.unit as org_unit_id, null::bigint as source_row,
                 coalesce(c.goals, 0) / p.goals as goals_ratio,
                 coalesce(cf.followups, 0) / pf.followups as followups_ratio,
                 coalesce(a.level, 1) * (1 - {max_drop}) as allowed_ratio, a.level as accepted_level
          from goal_units p
          join followup_units pf on pf.d = p.d and pf.unit = p.unit
          left join goal_units c on c.d = (select delivery_id from current) and c.unit = p.unit
          left join followup_units cf on cf.d = (select delivery_id from current) and cf.unit = p.unit
          left join accepted a on a.unit = p.unit
          where p.d = (select delivery_id from baseline) and p.goals >= 20"""),
          [
        _err(gxe.ExpectColumnPairValuesAToBeGreaterThanB,
             "Enhedens antal mål er faldet mere end tilladt siden det senest offentliggjorte udtræk.",
             "The unit's number of goals fell more than allowed since the extract last published.",
             column_A="goals_ratio", column_B="allowed_ratio", or_equal=True),
        _err(gxe.ExpectColumnPairValuesAToBeGreaterThanB,
             "Enhedens antal opfølgninger er faldet mere end tilladt siden det senest offentliggjorte udtræk.",
             "The unit's number of follow-ups fell more than allowed since the extract last published.",
             column_A="followups_ratio", column_B="allowed_ratio", or_equal=True),
    ]),
    Suite("delivery_followup_days", ("raw", "deliveries"),
          """with current as (select delivery_id, municipality_code from {raw}.deliveries
                           where delivery_id = (select delivery_id from {raw}.current_delivery)),
          days as (select followed_up_on, count(*) as n from {raw}.goal_followups
                   where _last_seq is null
                     and _municipality_code is not distinct from (select municipality_code from current)
                     and followed_up_on >= (
                       select cast(extract_time as date) - interval 365 day from {raw}.deliveries
                       where delivery_id = (select delivery_id from current))
                   group by 1)
          select (select delivery_id from current) as delivery_id, 'goal_followups' as entity,
                 cast(followed_up_on as varchar) as row_key, null as org_unit_id, null::bigint as source_row,
                 n / sum(n) over () as share_of_year
          from days""",
          [
        _warn(gxe.ExpectColumnValuesToBeBetween,
              "Mange opfølgninger er registreret på samme dag; er de indtastet samlet?",
              "Many follow-ups are recorded on one day; were they entered in bulk?",
              column="share_of_year", max_value=0.05, threshold={"max_value": "bunching"}),
    ]),
    Suite("delivery_gas_shares", ("raw", "deliveries"),
          _as_of("""with current as (select {current} as delivery_id),
          baseline as (select {baseline} as delivery_id),
          compared as (select delivery_id as d, seq, municipality_code from {raw}.deliveries
                       where delivery_id in (select delivery_id from current union all select delivery_id from baseline)),
          shares as (select c.d, f.gas_score, count(*) / sum(count(*)) over (partition by c.d) as share
                     from compared c join {raw}.goal_followups f on AS_OF(f) group by 1, 2)
          select (select delivery_id from current) as delivery_id, 'goal_followups' as entity,
                 cast(c.gas_score as varchar) as row_key, null as org_unit_id, null::bigint as source_row,
                 abs(c.share - p.share) as share_change
          from shares c join shares p on p.gas_score = c.gas_score and p.d = (select delivery_id from baseline)
          where c.d = (select delivery_id from current)"""),
          [
        _warn(gxe.ExpectColumnValuesToBeBetween,
              "Andelen af en GAS-score har flyttet sig markant siden det senest offentliggjorte udtræk.",
              "The share of a GAS score moved markedly since the extract last published.",
              column="share_change", max_value=0.15, threshold={"max_value": "gas_jump"}),
    ]),
]  # fmt: skip


def _indicator_suite(table: str, percents: list[str], counts: list[str], pairs: list[tuple[str, str]],
                     texts: list[str], row_key: str = "period_label", zero_ok: bool = False,
                     unit: str | None = "org_unit_id") -> Suite:  # fmt: skip
    checks = [
        _err(gxe.ExpectColumnValuesToBeBetween, f"{p} skal ligge mellem 0 og 100.", f"{p} must lie between 0 and 100.",
             column=p, min_value=0, max_value=100)
        for p in percents
    ]  # fmt: skip
    # A budget line nobody was paid on is about no citizen, and is published.
    about_citizens = (
        {"row_condition": "n_citizens > 0", "condition_parser": "pandas"} if zero_ok else {}
    )
    checks.append(_err(gxe.ExpectColumnValuesToBeBetween,
                       "En offentliggjort celle handler om for få borgere.",
                       "A published cell is about too few citizens.", column="n_citizens", min_value=5,
                       **about_citizens))  # fmt: skip
    checks += [
        _err(gxe.ExpectColumnValuesToBeNull, f"En skjult celle viser alligevel {c}.", f"A suppressed cell still shows {c}.",
             column=c, row_condition="is_suppressed == True", condition_parser="pandas")
        for c in counts + percents
    ]  # fmt: skip
    checks += [
        _err(gxe.ExpectColumnPairValuesAToBeGreaterThanB, f"{b} er større end {a}.", f"{b} is larger than {a}.",
             column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing")
        for a, b in pairs
    ]  # fmt: skip
    checks += [
        _err(gxe.ExpectColumnValuesToNotMatchRegex, "Noget ligner et CPR-nummer.", "Something looks like a CPR number.",
             column=t, regex=CPR_LIKE)
        for t in texts
    ]  # fmt: skip
    # A table per municipality (unit None) has no unit to place its rows under.
    ids = (f"null as delivery_id, 'indicators' as entity, {row_key} as row_key, "
           f"{unit or 'null::varchar'} as org_unit_id, null::bigint as source_row")  # fmt: skip
    rest = "* exclude (org_unit_id)" if unit else "*"
    return Suite(
        table, ("indicators", table), f"select {ids}, {rest} from indicators.{table}", checks
    )


TEXTS = ["period_label", "org_unit_id", "org_unit_name"]
INDICATORS = [
    _indicator_suite("ind_goal_attainment", ["avg_goal_attainment_pct", "avg_gas_t_score"],
                     ["n_citizens", "n_goals"], [("n_goals", "n_citizens")], [*TEXTS, "life_theme", "sub_theme"]),
    _indicator_suite("ind_goal_type_achievement", ["pct_achieved", "pct_not_achieved"],
                     ["n_goals", "n_achieved", "n_citizens"], [("n_goals", "n_achieved"), ("n_goals", "n_citizens")],
                     [*TEXTS, "goal_type"]),
    _indicator_suite("ind_functional_ability", ["pct_improved", "pct_unchanged", "pct_worsened"],
                     ["n_citizens"], [], [*TEXTS, "theme"]),
    _indicator_suite("ind_key_figures", [], ["value", "n_citizens"], [], [*TEXTS, "figure", "breakdown"]),
    _indicator_suite("ind_data_quality", ["pct_rows_quarantined", "pct_goals_without_due_followup"],
                     ["rows_loaded", "rows_quarantined", "n_citizens"],
                     [("goals_due_followup", "goals_without_due_followup")], TEXTS),
    _indicator_suite("ind_costs", [], ["n_citizens", "spending_dkk", "cost_per_citizen_dkk", "intervention_days",
                                       "cost_per_intervention_day_dkk"], [], [*TEXTS, "breakdown_by", "breakdown"]),
    _indicator_suite("ind_cost_effect", ["avg_goal_attainment_pct", "pct_citizens_improved"],
                     ["n_citizens", "spending_dkk", "cost_per_citizen_dkk", "n_citizens_with_goals", "n_goals",
                      "n_goals_achieved", "n_citizens_assessed", "n_citizens_improved"],
                     [("n_goals", "n_goals_achieved"), ("n_citizens_assessed", "n_citizens_improved"),
                      ("n_citizens", "n_citizens_assessed"), ("n_citizens", "n_citizens_with_goals"),
                      ("n_goals", "n_citizens_with_goals")], [*TEXTS, "breakdown_by", "breakdown"]),
    _indicator_suite("ind_cost_forecast", [], ["n_citizens", "forecast_by_grants_dkk"], [], TEXTS),
    _indicator_suite("ind_budget", [], ["n_citizens", "spent_to_date_dkk", "expected_by_grants_dkk",
                                        "expected_by_run_rate_dkk", "deviation_by_grants_dkk"],
                     [], ["org_unit_id", "org_unit_name", "function"], row_key="cast(budget_year as varchar)", zero_ok=True),
    # adjusted_pct is the ratio times the national share: above 100 where a municipality does
    # better than the nation on a share above 1 / ratio, so it is not a percentage to bound.
    _indicator_suite("ind_case_mix", ["crude_pct"],
                     ["n_citizens", "n_cases", "observed", "expected", "ratio", "adjusted_pct", "lower_95",
                      "upper_95", "lower_998", "upper_998"],
                     [("n_cases", "observed"), ("n_cases", "n_citizens"), ("upper_95", "lower_95"),
                      ("upper_998", "upper_95"), ("lower_95", "lower_998")],
                     ["period_label", "municipality_code", "indicator"],
                     row_key="period_label || ' ' || coalesce(municipality_code, '') || ' ' || indicator", unit=None),
]  # fmt: skip

# Which rows of each staged entity a daily run validates: parents are the staged references a
# suite's rules read (a child is validated again when its parent changed).
SCOPES = {
    "stg_org_units": _changed("org_units", "org_unit_id"),
    "stg_citizens": _changed("citizens", "citizen_key"),
    "stg_cases": _changed("cases", "case_id", {"citizen_key": "citizens.citizen_key",
                                               "authority_org_unit_id": "org_units.org_unit_id"}),
    "stg_interventions": _changed("interventions", "intervention_id", {
        "case_id": "cases.case_id", "provider_org_unit_id": "org_units.org_unit_id"}),
    "stg_assessments": _changed("assessments", "assessment_id", {"case_id": "cases.case_id"}),
    "stg_assessment_scores": _changed("assessment_scores", "assessment_id", {
        "assessment_id": "assessments.assessment_id"}),
    "stg_goals": _changed("goals", "goal_id", {"intervention_id": "interventions.intervention_id"}),
    "stg_goal_followups": _changed("goal_followups", "followup_id", {"goal_id": "goals.goal_id"}),
    "stg_grants": _changed("grants", "grant_id", {"intervention_id": "interventions.intervention_id"}),
    "stg_payments": _changed("payments", "payment_id", {
        "intervention_id": "interventions.intervention_id", "grant_id": "grants.grant_id"}),
    "stg_budgets": _changed("budgets", BUDGET_KEY.replace("b.", ""), {"org_unit_id": "org_units.org_unit_id"}),
}  # fmt: skip
STAGED = [dataclasses.replace(s, scope=SCOPES[s.name]) for s in STAGED]

SUITES: dict[str, Suite] = {s.name: s for s in STAGED + DELIVERY + INDICATORS}
# Two gates: the delivery's after the ingest (blocking the build), the build's after dbt
# (blocking publishing).
DELIVERY_SUITES = [s.name for s in DELIVERY]
BUILD_SUITES = [s.name for s in STAGED + INDICATORS]


def definitions(thresholds: Thresholds, suites: dict[str, Suite] | None = None) -> str:
    """Every suite's definition with the thresholds applied, as canonical JSON: what the gate's
    rules fingerprint digests, so a changed rule changes it."""
    suites = SUITES if suites is None else suites
    # No `default=`: a value JSON cannot hold raises here instead of being digested by a repr
    # that may differ from one process to the next.
    definitions = [suites[name].definition(thresholds) for name in sorted(suites)]
    return json.dumps(definitions, sort_keys=True, ensure_ascii=False)

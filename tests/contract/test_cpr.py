"""CPR rules, in Python (generator) and in SQL (ingest), give the same answers."""

import datetime as dt

import duckdb
import numpy as np
import pytest

from orchestration.contract import cpr
from orchestration.ingest.contract_checks import install_macros

CASES = [
    # number, birth date, sex, replacement
    ("010203-1234", dt.date(1903, 2, 1), "F", False),  # serial 1: 1900s
    ("010236-4321", dt.date(2036, 2, 1), "M", False),  # 4 with YY <= 36: 2000s
    ("010237-4321", dt.date(1937, 2, 1), "M", False),  # 4 with YY > 36: 1900s
    ("010257-5000", dt.date(2057, 2, 1), "F", False),  # 5-8 with YY <= 57: 2000s
    ("010258-5000", dt.date(1858, 2, 1), "F", False),  # 5-8 with YY > 57: 1800s
    ("010299-9001", dt.date(1999, 2, 1), "M", False),  # 9 with YY > 36: 1900s
    ("6102031234", dt.date(1903, 2, 1), "F", True),  # replacement number, no hyphen
    ("290200-4001", dt.date(2000, 2, 29), "M", False),  # leap day 2000
]


@pytest.mark.parametrize(("number", "born", "sex", "replacement"), CASES)
def test_parse_reads_century_sex_and_replacement(number, born, sex, replacement):
    assert cpr.parse(number) == (born, sex, replacement)


@pytest.mark.parametrize(
    ("number", "reason"),
    [("3002851234", "impossible_cpr"), ("290201-4001", "impossible_cpr"),
     ("12345-67890", "malformed_cpr"), ("0102AB-1234", "malformed_cpr"), ("", "malformed_cpr")],
)  # fmt: skip
def test_parse_refuses_with_the_contract_reason(number, reason):
    with pytest.raises(cpr.CprError) as error:
        cpr.parse(number)
    assert error.value.reason == reason


def test_sql_macros_agree_with_python():
    con = duckdb.connect()
    install_macros(con)
    numbers = [c[0] for c in CASES] + ["3002851234", "070761-4285", "0707614285"]
    for number in numbers:
        sql_born, sql_mod11 = con.execute(
            "select cpr_birth_date(?), cpr_passes_modulus11(?)", [number, number]
        ).fetchone()
        try:
            py_born = cpr.parse(number)[0]
        except cpr.CprError:
            py_born = None
        assert sql_born == py_born, number
        if py_born:
            assert sql_mod11 == cpr.passes_modulus11(number), number


def test_a_known_modulus11_number_passes():
    assert cpr.passes_modulus11("070761-4285")  # the CPR office's textbook example


def test_fictitious_numbers_fail_modulus11_keep_sex_and_never_use_new_year():
    rng = np.random.default_rng(0)
    days = rng.integers(-20_000, 20_000, 5_000)
    d = days.astype("datetime64[D]")
    days = days + (d == d.astype("datetime64[Y]").astype("datetime64[D]"))
    male = rng.random(5_000) < 0.5
    numbers = cpr.format_cprs(cpr.fictitious_cprs(days, male, rng))
    for number, day, is_male in zip(numbers, days, male, strict=True):
        born, sex, replacement = cpr.parse(str(number))
        assert born == dt.date(1970, 1, 1) + dt.timedelta(days=int(day))
        assert sex == ("M" if is_male else "F")
        assert not replacement
        assert not cpr.passes_modulus11(str(number))
        assert (born.month, born.day) != (1, 1)


def test_fictitious_numbers_refuse_new_year_birthdays():
    with pytest.raises(ValueError, match="1 January"):
        cpr.fictitious_cprs(
            np.array(["1990-01-01"], dtype="datetime64[D]"),
            np.array([True]),
            np.random.default_rng(),
        )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Samtale med Søren CPR: 010203-1234 om mål", True),
        ("0102031234", True),
        ("erstatningsnummer 610203-1234", True),
        ('"created_at": 1795375785.9416153', False),  # a Unix time: month 95
        ("effekt-synth_20190630T020000", False),
        ("sha 8bfc7f7b4f7c3cd7808cedb817b77939579826c3", False),
        ("case 100000123", False),
        ("avg 47.2812038451", False),  # a fraction's digits
        ("u=.2309699292", False),
        ("nr:0102031234", True),
        ("1;0102031234;x", True),
        ("7,0102031234", True),  # a comma-delimited row
    ],
)
def test_the_cpr_detector_finds_cpr_numbers_and_not_other_digits(text, found):
    assert bool(cpr.CPR_IN_TEXT.search(text)) is found
    (sql,) = (
        duckdb.connect()
        .execute("select regexp_matches(?, ?)", [text, cpr.CPR_IN_TEXT_SQL])
        .fetchone()
    )
    assert sql is found

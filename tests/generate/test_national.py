"""Deliveries of several municipalities: named in the manifest, each with its own organisation
and case-mix, of skewed sizes, with CPR numbers that collide only for the citizens who moved."""

import datetime as dt
import hashlib
import json

import pytest

from orchestration.cli import main
from orchestration.contract.cpr import passes_modulus11
from orchestration.generate import GeneratorConfig, generate_delivery, generate_national
from orchestration.generate.municipalities import (
    case_mix,
    municipality_names,
    pick_codes,
    split_citizens,
)
from tests.conftest import END, START, load_checked

CODES = ["101", "751", "461"]  # København, Aarhus, Odense


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    return generate_national(CODES, 3000, START, END, seed=11, out=out, movers=0.02,
                             progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def loaded(national):
    """Each municipality's delivery read and checked, by code."""
    return {d.manifest["municipality_code"]: load_checked(d.path) for d in national.deliveries}


def _sums(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _rows(con, sql):
    return con.execute(sql).fetchall()


def test_the_manifest_names_the_municipality_and_contract_1_2(national, loaded):
    assert [d.path.name for d in national.deliveries] == [
        f"effekt-synth-{code}_20190630T020000" for code in CODES
    ]
    for delivery in national.deliveries:
        manifest = delivery.manifest
        assert manifest["contract_version"] == "1.2"
        assert manifest["municipality_code"] in CODES
        assert manifest["delivery_id"] == delivery.path.name
        on_disk = json.loads((delivery.path / "manifest.json").read_text(encoding="utf-8"))
        assert on_disk["municipality_code"] == manifest["municipality_code"]
    # The ingest's contract checks accept them and find nothing wrong, movers included.
    for con in loaded.values():
        assert _rows(con, "select entity, reason from raw.findings") == []


def test_same_arguments_same_bytes(national, tmp_path):
    again = generate_national(CODES, 3000, START, END, seed=11, out=tmp_path, movers=0.02,
                              progress=False)  # fmt: skip
    assert [_sums(d.path) for d in again.deliveries] == [_sums(d.path) for d in national.deliveries]
    assert again.movers == national.movers


# The manifest lists every file's SHA-256, so its digest pins the whole delivery. These are the
# digests of the generator before it knew municipalities (commit 26d4c06); the ground truth's too.
UNCHANGED = [
    (
        {"citizens": 300, "dialect": "excel-dk", "defects": 0.01, "costs": True},
        "126a9d04e53112bc5af46a2cc22d027fbceaf3f08e1978170fa09a5abfb4ff82",
        "70be458f4333200c2a8ba064f2d8d7869c8d665e6d1627d17234f79b4b888ff8",
    ),
    (
        {"citizens": 200, "dialect": "utf8", "extract_at": dt.date(2018, 3, 31)},
        "ad970285d935e2ac8e7af981d23a7aea057e9347cb7137edfbdcf6ab3d2bd94c",
        None,
    ),
]


@pytest.mark.parametrize(("args", "manifest_sha256", "truth_sha256"), UNCHANGED)
def test_without_a_municipality_the_delivery_is_unchanged(
    tmp_path, args, manifest_sha256, truth_sha256
):
    delivery = generate_delivery(
        GeneratorConfig(start=START, end=END, seed=5, out=tmp_path, progress=False, **args)
    )
    assert "municipality_code" not in delivery.manifest
    assert "municipality_code" not in delivery.manifest["generator"]
    assert delivery.manifest["contract_version"] in ("1", "1.1")
    assert _sums(delivery.path)["manifest.json"] == manifest_sha256
    if truth_sha256:
        assert hashlib.sha256(delivery.ground_truth.read_bytes()).hexdigest() == truth_sha256


def test_sizes_are_skewed_a_big_city_first(national):
    assert national.sizes == dict(zip(CODES, split_citizens(3000, 3), strict=True))
    assert sum(national.sizes.values()) == 3000
    big, middle, small = national.sizes.values()
    assert big > middle > small and big >= 2.5 * small
    for delivery, size in zip(national.deliveries, national.sizes.values(), strict=True):
        rows = {f["entity"]: f["rows"] for f in delivery.manifest["files"]}
        assert rows["citizens"] == size
    assert split_citizens(1_000_000, 10)[0] > 300_000 > split_citizens(1_000_000, 10)[-1] * 5


def test_two_municipalities_differ_in_organisation(loaded):
    def organisation(code):
        return _rows(loaded[code], """
            select operating_area, org_role, count(*) from chk.org_units where level__v = 3
            group by all order by all""")  # fmt: skip

    def names(code):
        return {n for (n,) in _rows(loaded[code], "select name from chk.org_units")}

    assert "Socialforvaltningen, Aarhus" in names("751")
    assert "Socialforvaltningen, Odense" in names("461")
    assert organisation("751") != organisation("461")
    assert len(names("751") & names("461")) < len(names("461")) / 2
    # Unit identifiers follow one scheme, so two case systems share some: the warehouse must
    # tell them apart by the municipality.
    ids = {
        c: {i for (i,) in _rows(loaded[c], "select org_unit_id from chk.org_units")} for c in CODES
    }
    assert {"ORG-1", "ORG-10"} <= ids["751"] & ids["461"]


def test_two_municipalities_differ_in_case_mix(loaded):
    def mix(code):
        return loaded[code].execute("""
            select avg((target_group = 'children')::int), avg((target_group = 'adults')::int),
                   avg(completed_years(cpr_birth_date(cpr), date '2019-06-30'))
            from chk.citizens""").fetchone()  # fmt: skip

    copenhagen, aarhus = mix("101"), mix("751")
    # The drawn shares show in the data (1,636 and 818 citizens: within a few points).
    for code, observed in (("101", copenhagen), ("751", aarhus)):
        children, _, adults = case_mix(code).group_p
        assert observed[0] == pytest.approx(children, abs=0.05)
        assert observed[1] == pytest.approx(adults, abs=0.05)
    assert abs(copenhagen[0] - aarhus[0]) > 0.05  # 25% against 33% children
    assert case_mix("101") != case_mix("751") != case_mix("461")


def test_every_municipality_has_a_realistic_case_mix():
    for code in municipality_names():
        mix = case_mix(code)
        children, youth, adults = mix.group_p
        assert 0.22 <= children <= 0.38 and 0.10 <= youth <= 0.20
        assert adults == pytest.approx(1 - children - youth) and 0.42 <= adults <= 0.68
        assert 75 <= mix.adult_age_max <= 95
        assert -0.65 <= mix.progress_mean <= -0.25
        assert 0.6 <= mix.need_range[0] < 1.1 and 3.0 <= mix.need_range[1] < 3.7
    assert case_mix("751") == case_mix("751")  # from the code alone


def test_movers_share_a_cpr_number_and_nothing_else_collides(national, loaded):
    cprs = {
        code: {c for (c,) in _rows(con, "select cpr from raw.citizens")}
        for code, con in loaded.items()
    }
    assert national.movers == round(0.02 * 3000)
    everyone = [c for code in CODES for c in cprs[code]]
    assert len(everyone) - len(set(everyone)) == national.movers  # each mover is in two
    movers = {c for c in everyone if everyone.count(c) > 1}
    assert len(movers) == national.movers
    assert not cprs["101"] & cprs["751"] & cprs["461"]
    # A mover moved down the list: their first case in the new municipality opens half a year or
    # more after their first case in the old one (or, if that is later, on the extract day).
    first_case = {
        code: dict(_rows(con, "select cpr, min(opened_on__v) from chk.cases group by cpr"))
        for code, con in loaded.items()
    }
    for cpr in movers:
        opened = [first_case[code][cpr] for code in CODES if cpr in cprs[code]]
        assert opened[1] >= min(opened[0] + dt.timedelta(days=180), END)
    # Their target group in the new municipality is that of their age when they arrived.
    for code in CODES[1:]:
        groups = _rows(loaded[code], """
            select c.cpr, c.target_group, completed_years(cpr_birth_date(c.cpr), min(k.opened_on__v))
            from chk.citizens c join chk.cases k on k.cpr = c.cpr group by c.cpr, c.target_group""")  # fmt: skip
        for cpr, group, age in groups:
            if cpr in movers:
                assert group == ("children" if age < 14 else "youth" if age < 18 else "adults")


def test_every_cpr_number_is_still_fictitious(loaded):
    for con in loaded.values():
        for (cpr,) in _rows(con, "select cpr from raw.citizens"):
            assert not passes_modulus11(cpr)
            assert cpr[:4] != "0101"  # no 1 January birth date


def test_codes_outside_the_code_list_are_refused_naming_the_code(tmp_path, capsys):
    with pytest.raises(ValueError, match="municipality code '999' is not a Danish kommunekode"):
        generate_delivery(GeneratorConfig(citizens=10, start=START, end=END, seed=1,
                                          out=tmp_path, municipality_code="999"))  # fmt: skip
    with pytest.raises(ValueError, match="'0101'"):
        generate_national(["101", "0101"], 100, START, END, seed=1, out=tmp_path)
    with pytest.raises(ValueError, match="given twice: 751"):
        generate_national(["751", "101", "751"], 100, START, END, seed=1, out=tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before anything is written
    code = main(["generate", "--citizens", "100", "--start", "2016-01-01", "--end", "2019-06-30",
                 "--seed", "1", "--out", str(tmp_path), "--municipalities", "101,998"])  # fmt: skip
    assert code == 2
    assert "'998' is not a Danish kommunekode" in capsys.readouterr().err


def test_the_command_writes_a_delivery_per_municipality(tmp_path, capsys):
    code = main(["generate", "--citizens", "400", "--start", "2016-01-01", "--end", "2019-06-30",
                 "--seed", "2", "--out", str(tmp_path), "--national", "3", "--quiet"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    codes = pick_codes(3, 2)
    assert codes[0] == "101" and len(set(codes)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"effekt-synth-{c}_20190630T020000" for c in codes
    )
    assert "3 municipalities" in out and "4 citizens moved" in out

"""The comparison pages show what the rows hold: names escaped, withheld municipalities never
drawn, and, when others are not to be named, no other municipality's name or code anywhere."""

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from orchestration.reporting.comparison import (
    FIGURES,
    comparison_page,
    funnel_limits,
    indirect_standardisation,
    municipality_page,
    write_comparison_pages,
)

PERIOD = "2018Q3-2019Q2"
OWN = "901"
SCRIPT_NAME = "<script>alert('kommune')</script>"
OUTLIER, SUPPRESSED = "905", "912"
# Codes 901-912 are not Danish municipality codes, so no figure on the page is one of them.
CODES = [f"{c}" for c in range(901, 913)]
NAMES = {code: f"Testkommune {chr(65 + i)}" for i, code in enumerate(CODES)}
NAMES["903"] = SCRIPT_NAME


def case_rows(code: str, stratum: str, n: int, achieved: int, citizens: int) -> list[dict]:
    return [{"municipality_code": code, "goal_type": stratum, "achieved": i < achieved,
             "citizen": f"{code}-{stratum}-{i % citizens}"} for i in range(n)]  # fmt: skip


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """ind_case_mix-shaped rows: 12 municipalities, two indicators, three periods. 905 achieves
    far more than expected; 912 has 3 citizens (withheld)."""
    rows = []
    for i, code in enumerate(CODES):
        n = 30 + 25 * i
        if code == SUPPRESSED:
            rows += case_rows(code, "progression", 6, 3, 3)
            continue
        share = (0.95, 0.9) if code == OUTLIER else (0.6 + 0.01 * (i % 3), 0.4)
        rows += case_rows(code, "progression", n, round(n * share[0]), 10)
        rows += case_rows(code, "maintenance", n // 2, round(n // 2 * share[1]), 10)
    cases = pd.DataFrame(rows)
    frames = []
    for period_type, label in (("rolling_4q", PERIOD), ("rolling_4q", "2018Q2-2019Q1"),
                               ("quarter", "2019Q2")):  # fmt: skip
        for indicator in ("goals_achieved", "ability_improved"):
            frames.append(cases.assign(period_type=period_type, period_label=label,
                                       indicator=indicator))  # fmt: skip
    result = indirect_standardisation(
        pd.concat(frames), "municipality_code", ["goal_type"], "achieved",
        by=["period_type", "period_label", "indicator"], citizen="citizen", national_code="000",
    )  # fmt: skip
    return result.assign(data_break=False)


def plotted(page: str) -> list[list[dict]]:
    """The data of every plotly figure on a page, as plotly.js receives it."""
    decoder, found = json.JSONDecoder(), []
    for start in re.finditer(r"Plotly\.newPlot\(\s*", page):
        _, end = decoder.raw_decode(page, start.end())
        comma = re.compile(r"\s*,\s*").match(page, end)
        data, _ = decoder.raw_decode(page, comma.end())
        found.append(data)
    assert found, "no figure on the page"
    return found


def numbers(value) -> np.ndarray:
    """A figure's array: plotly 6 sends numpy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def strings_in(trace: dict) -> str:
    """Every text a trace carries (names, hover texts, labels, custom data)."""
    return json.dumps({k: v for k, v in trace.items() if k not in ("x", "y", "marker", "line")})


class Text(HTMLParser):
    """The page's text outside scripts and styles, and every attribute value."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.attributes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        self.attributes += [v for _, v in attrs if v]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def text_of(page: str) -> Text:
    parser = Text()
    parser.feed(page)
    return parser


def a_code(code: str, text: str) -> bool:
    """Whether `code` appears as a number of its own (not inside 1.905,3 or 0,905)."""
    return re.search(rf"(?<![\d,.]){code}(?![\d,.])", text) is not None


def test_a_name_with_markup_is_shown_as_text(frame, tmp_path):
    write_comparison_pages(frame, tmp_path / "pages", NAMES, name_others=True)
    pages = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "pages").glob("*.html")}
    assert "kommune-903.html" in pages
    for name, page in pages.items():
        assert SCRIPT_NAME not in page, name
        assert "<script>alert" not in page, name
    assert "&lt;script&gt;alert(&#39;kommune&#39;)&lt;/script&gt;" in pages["index.html"]
    assert SCRIPT_NAME in "".join(text_of(pages["sammenligning-goals_achieved.html"]).text)
    hover = "".join(strings_in(t) for t in plotted(pages["kommune-903.html"])[0])
    assert "&lt;script&gt;" in hover  # plotly reads hover text as markup of its own


def test_withheld_municipalities_are_not_drawn_and_read_withheld(frame):
    page = comparison_page(frame, "goals_achieved", PERIOD, True, NAMES)
    traces = plotted(page)[0]
    points = [t for t in traces if t["mode"].startswith("markers")]
    drawn = [code for t in points for code in t["customdata"]]
    shown = frame[(frame.period_label == PERIOD) & (frame.indicator == "goals_achieved")
                  & (frame.municipality_code != "000")]  # fmt: skip
    assert shown.set_index("municipality_code").loc[SUPPRESSED, "is_suppressed"]
    assert sorted(drawn) == sorted(set(CODES) - {SUPPRESSED})
    assert sum(len(numbers(t["x"])) for t in points) == len(CODES) - 1
    assert all(SUPPRESSED not in strings_in(t) for t in traces)
    assert all(np.isfinite(numbers(t["y"])).all() for t in points)
    cells = re.findall(rf'data-cell="ind_case_mix\|{PERIOD}\|{SUPPRESSED}\|goals_achieved\|(\w+)"'
                       r'[^>]*>([^<]*)<', page)  # fmt: skip
    assert cells and all(text in ("&lt;5", "for få borgere") for _, text in cells)


def test_without_names_no_other_municipality_is_named_or_coded(frame, tmp_path):
    folder = tmp_path / "own"
    written = write_comparison_pages(frame, folder, NAMES, name_others=False, own_code=OWN)
    assert written["municipalities"] == [f"kommune-{OWN}.html"]
    assert sorted(p.name for p in folder.glob("*.html")) == [
        "index.html", f"kommune-{OWN}.html", "sammenligning-ability_improved.html",
        "sammenligning-goals_achieved.html",
    ]  # fmt: skip
    others = [c for c in CODES if c != OWN]
    for path in folder.glob("*.html"):
        page = path.read_text(encoding="utf-8")
        text = text_of(page)
        visible = " ".join(text.text)
        for code in others:
            name = NAMES[code]
            assert name not in page and name.replace("<", "&lt;") not in page, (path.name, code)
            assert "&lt;script" not in page and "alert" not in page
            assert not a_code(code, visible), (path.name, code)
            assert not any(a_code(code, value) for value in text.attributes), (path.name, code)
        if path.name != "index.html":
            for trace in (t for figure in plotted(page) for t in figure):
                for code in others:
                    assert not a_code(code, strings_in(trace)), (path.name, code)
            assert "Anden kommune" in page
        assert NAMES[OWN] in visible
    page = (folder / "sammenligning-goals_achieved.html").read_text(encoding="utf-8")
    points = [t for t in plotted(page)[0] if t["mode"].startswith("markers")]
    assert sum(len(numbers(t["x"])) for t in points) == len(CODES) - 1  # all drawn, unnamed
    assert [t["customdata"] for t in points if "customdata" in t] == [[OWN]]
    assert "1 kommune(r)s tal vises ikke (færre end fem borgere" in page


def test_the_drawn_limits_are_spiegelhalters(frame):
    page = comparison_page(frame, "goals_achieved", PERIOD, True, NAMES)
    lines = [t for t in plotted(page)[0] if t["mode"] == "lines" and len(numbers(t["x"])) > 2]
    assert len(lines) == 4
    x = numbers(lines[0]["x"])
    limits = funnel_limits(x, 1.0, "ratio")
    drawn = {(t["name"], t["showlegend"]): numbers(t["y"]) for t in lines}
    assert np.allclose(drawn[("99,8\u00a0%-grænser", False)], limits.lower_998)
    assert np.allclose(drawn[("99,8\u00a0%-grænser", True)], limits.upper_998)
    assert np.allclose(drawn[("95\u00a0%-grænser", False)], limits.lower_95)
    assert np.allclose(drawn[("95\u00a0%-grænser", True)], limits.upper_95)
    shown = frame[(frame.period_label == PERIOD) & (frame.indicator == "goals_achieved")
                  & ~frame.is_suppressed & (frame.municipality_code != "000")]  # fmt: skip
    assert x.min() < shown.expected.min() and x.max() > shown.expected.max()


def test_a_point_outside_the_limits_is_marked_and_said_in_danish(frame):
    page = comparison_page(frame, "goals_achieved", PERIOD, True, NAMES)
    outside = [t for t in plotted(page)[0] if t.get("name") == "Uden for 99,8\u00a0%-grænserne"]
    assert [t["customdata"] for t in outside] == [[OUTLIER]]
    own = municipality_page(frame, OUTLIER, PERIOD, NAMES)
    assert "ligger over den øverste 99,8\u00a0%-grænse: markant flere nåede mål" in own
    assert "Over 99,8\u00a0%-grænsen" in own


def test_the_table_is_sorted_by_ratio_with_withheld_last(frame):
    page = comparison_page(frame, "goals_achieved", PERIOD, True, NAMES)
    found = re.findall(rf'data-cell="ind_case_mix\|{PERIOD}\|(\d+)\|goals_achieved\|ratio"', page)
    rows = frame[(frame.period_label == PERIOD) & (frame.indicator == "goals_achieved")
                 & (frame.municipality_code != "000")]  # fmt: skip
    expected = rows.sort_values("ratio", ascending=False, na_position="last").municipality_code
    assert found == list(expected) and found[0] == OUTLIER and found[-1] == SUPPRESSED


def test_a_withheld_municipality_has_a_page_saying_so(frame):
    page = municipality_page(frame, SUPPRESSED, PERIOD, NAMES)
    assert "har færre end fem borgere i tallet for nåede mål" in page
    for figure in plotted(page):
        assert all(t.get("customdata") != [SUPPRESSED] for t in figure)


def test_the_folder_shows_the_latest_rolling_year_by_default(frame, tmp_path):
    written = write_comparison_pages(frame, tmp_path / "p", NAMES, name_others=True)
    assert written["period_label"] == PERIOD
    assert (tmp_path / "p" / "index.html").exists()
    assert list((tmp_path / "p").glob("plotly-*.min.js"))
    index = (tmp_path / "p" / "index.html").read_text(encoding="utf-8")
    assert 'href="sammenligning-goals_achieved.html"' in index
    assert f'href="kommune-{OUTLIER}.html"' in index
    with pytest.raises(ValueError, match="no rows"):
        write_comparison_pages(frame, tmp_path / "q", NAMES, True, period_label="2015Q1")
    with pytest.raises(ValueError, match="ind_case_mix"):
        write_comparison_pages(frame.drop(columns="ratio"), tmp_path / "q", NAMES, True)


def test_a_row_withheld_to_protect_another_reads_withheld_not_too_few(frame):
    """ind_case_mix as published: disclosure control withholds some rows of 5 citizens or more
    (`suppression` 'secondary'); they are not drawn, and do not read "<5"."""
    published = frame.assign(suppression=np.where(frame["is_suppressed"], "primary", None))
    row = (published.period_label == PERIOD) & (published.municipality_code == OUTLIER)
    published.loc[row, FIGURES] = np.nan
    published.loc[row, ["is_suppressed", "suppression"]] = [True, "secondary"]
    page = comparison_page(published, "goals_achieved", PERIOD, True, NAMES)
    cells = re.findall(rf'data-cell="ind_case_mix\|{PERIOD}\|{OUTLIER}\|goals_achieved\|(\w+)"'
                       r'[^>]*>([^<]*)<', page)  # fmt: skip
    assert cells and {text for _, text in cells} == {
        "\u2013",
        "skjult, så et “&lt;5” ikke kan regnes ud",
    }
    drawn = [
        c for t in plotted(page)[0] if t["mode"].startswith("markers") for c in t["customdata"]
    ]
    assert OUTLIER not in drawn
    own = municipality_page(published, OUTLIER, PERIOD, NAMES)
    assert "er skjult, så et tal om færre end fem borgere ikke kan regnes ud" in own

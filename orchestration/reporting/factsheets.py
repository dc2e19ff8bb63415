"""Fact sheets and the barometer: HTML pages from the published indicators, written per quarter.

One page per level: the administration, each operating area, each unit with enough citizens;
and a barometer listing every unit with traffic lights against targets. The pages are Jinja2
templates (templates/), which escape every text they are given; the charts are plotly's own
markup. The folder carries plotly.js once, beside the pages that reference it by a relative
path: the folder opens offline, on a tablet, or copied whole to a share (a page alone has no
charts).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from plotly.offline import get_plotlyjs_version

from orchestration.files import atomic_folder
from orchestration.pages import page_templates
from orchestration.reporting import Quarter
from orchestration.reporting.barometer import COSTS, MEASURES, barometer_rows, load_targets
from orchestration.reporting.economy import economy_sections
from orchestration.reporting.figures import (
    data_quality_section,
    functional_section,
    functional_timeseries_section,
    goal_attainment_sections,
    goal_type_section,
    key_figures_section,
    timeseries_section,
)
from orchestration.reporting.published import Published, Subject, rolling_label, subjects
from orchestration.reporting.text import LANGUAGES, TEXT

TEMPLATES = page_templates("orchestration.reporting")

# plotly.js, written once per folder of sheets: its basic bundle (bar and scatter, all the
# sheets draw; 1.2 MB against the full bundle's 4.8 MB), npm's plotly.js-basic-dist-min at the
# version plotly.py draws for (docs/fact-sheets.md says how to renew it). The version is in the
# name, so that a folder made by another release never runs a page against another script.
PLOTLY_BUNDLE = Path(__file__).with_name("static") / "plotly-basic.min.js"
PLOTLY_JS = f"plotly-basic-{get_plotlyjs_version()}.min.js"


def fact_sheet_html(published: Published, subject: Subject, lang: str = "da") -> str:
    t = TEXT[lang]
    sections = [
        *goal_attainment_sections(published, subject, lang),
        goal_type_section(published, subject, lang),
        timeseries_section(published, subject, lang),
        functional_section(published, subject, lang),
        functional_timeseries_section(published, subject, lang),
        key_figures_section(published, subject, lang),
        data_quality_section(published, subject, lang),
        *economy_sections(published, subject, lang),
    ]
    return TEMPLATES.get_template("fact-sheet.html").render(
        lang=lang,
        t=t,
        title=f"{t['title']} · {subject.title(lang)}",
        subtitle=t["subtitle"].format(quarter=published.quarter.label),
        plotly_js=PLOTLY_JS,
        sections=sections,
        provenance=published.provenance(lang),
    )


def barometer_html(published: Published, sheets: list[Subject], too_few: list[Subject],
                   targets: dict, lang: str = "da") -> str:  # fmt: skip
    t = TEXT[lang]
    return TEMPLATES.get_template("barometer.html").render(
        lang=lang,
        t=t,
        title=f"{t['barometer']} · {rolling_label(published.quarter)}",
        subtitle=t["subtitle"].format(quarter=published.quarter.label),
        plotly_js=None,  # the barometer draws no chart
        columns=(*MEASURES, *COSTS),
        rows=barometer_rows(published, sheets, too_few, targets, lang),
        provenance=published.provenance(lang),
    )


def write_fact_sheets(version: Path, quarter: Quarter, out: Path, lang: str = "da",
                      targets: dict | None = None) -> dict:  # fmt: skip
    """Write every fact sheet and the barometer (index.html) for the quarter into `out`;
    `targets` default to the packaged targets.yaml."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: choose from {', '.join(LANGUAGES)}")
    targets = targets or load_targets()
    published = Published.load(version, quarter)
    sheets, too_few = subjects(published, targets)
    with atomic_folder(out) as incoming:
        shutil.copyfile(PLOTLY_BUNDLE, incoming / PLOTLY_JS)
        for subject in sheets:
            (incoming / subject.file_name).write_text(
                fact_sheet_html(published, subject, lang), encoding="utf-8"
            )
        (incoming / "index.html").write_text(
            barometer_html(published, sheets, too_few, targets, lang), encoding="utf-8"
        )
    return {
        "quarter": quarter.label,
        "language": lang,
        "sheets": [s.file_name for s in sheets],
        "units_without_sheet": [s.org_unit_id for s in too_few],
        "index": str(out / "index.html"),
        "published_version": published.manifest["version"],
    }

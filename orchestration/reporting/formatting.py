"""Figures as people read them: Danish or English numbers, and the signs for withheld cells.

Suppressed cells are shown as "<5" (too few citizens) or "–" (withheld so that a "<5" cannot be
worked out), never as zero.
"""

from __future__ import annotations

import pandas as pd

from orchestration.reporting.text import TEXT


def number(value: float, decimals: int, lang: str) -> str:
    text = f"{value:,.{decimals}f}"
    if lang == "da":  # 1.234,5
        text = text.replace(",", "\u00a0").replace(".", ",").replace("\u00a0", ".")
    return text


def withheld(row) -> str | None:
    """Why a published row's figures are withheld: 'primary', 'secondary' or None."""
    if row is None or not bool(row.is_suppressed):
        return None
    return "secondary" if getattr(row, "suppression", None) == "secondary" else "primary"


def mark(row, lang: str) -> str:
    """The sign for a withheld row: "<5" for too few citizens, "–" for protecting another."""
    return TEXT[lang]["withheld" if withheld(row) == "secondary" else "suppressed"]


def fmt(value, lang: str, *, suppressed=None, pct: bool = False, decimals: int = 0) -> str:
    """A figure as people read it: "<5" when about too few citizens, "–" when withheld to
    protect such a figure (`suppressed` 'secondary') or when there is none."""
    if suppressed:
        return TEXT[lang]["withheld" if suppressed == "secondary" else "suppressed"]
    if value is None or pd.isna(value):
        return "\u2013"
    text = number(float(value), decimals, lang)
    return f"{text}\u00a0%" if pct and lang == "da" else f"{text}%" if pct else text


def fmt_change(now, before, lang: str) -> str:
    """Percentage points, rounded as shown: +6, −25, ±0; "–" without a figure to compare."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return "\u2013"
    change = round(float(now) - float(before))
    sign = "+" if change > 0 else "\u2212" if change < 0 else "\u00b1"
    return f"{sign}{number(abs(change), 0, lang)}"


def code_label(codes: pd.DataFrame, code: str, lang: str) -> str:
    """A code list's label for a code (its first column), or the code itself when unlisted."""
    match = codes[codes.iloc[:, 0] == code]
    return str(match.iloc[0][f"label_{lang}"]) if len(match) else code

"""CPR number rules (DOMAIN.md, "Personal data"), shared by the generator and the ingest.

A CPR number is DDMMYY-SSSS. The first serial digit together with YY gives the century; the last
digit's parity gives legal sex (odd: male). The modulus-11 check is not required: numbers issued
since 2007 may fail it, so failing it is a warning, never a reason to refuse a row.
Replacement numbers (erstatningspersonnumre) add 60 to the day of month.

The same rules exist as DuckDB SQL in `orchestration.ingest.checks` for the data path; the tests
hold the two to the same answers.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is for the generator; checking a CPR number does without it
    import numpy as np

CPR_PATTERN = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")
# A CPR-like number inside other text, for redaction and the privacy scans: a plausible day
# (01-31, or 61-91 for replacement numbers) and month, then the year and four digits. Digits
# right after a point (47.2812038451, .2309699292 in plotly.js) are a fraction, not a CPR number.
_CPR_BODY = r"(?:0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])(?:0[1-9]|1[0-2])[0-9]{2}-?[0-9]{4}"
CPR_IN_TEXT = re.compile(rf"(?<![\w.-]){_CPR_BODY}(?![\w-])")
# RE2 has no look-behind: the character before is matched instead.
CPR_IN_TEXT_SQL = rf"(?:^|[^0-9A-Za-z_.-]){_CPR_BODY}(?:$|[^0-9A-Za-z_-])"
MOD11_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
REPLACEMENT_DAY_OFFSET = 60


class CprError(ValueError):
    """A CPR number that is malformed or whose birth date does not exist."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def century(yy: int, serial_first_digit: int) -> int:
    """Birth century from the two-digit year and the first serial digit (CPR office table)."""
    d = serial_first_digit
    if d <= 3:
        return 1900
    if d in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800  # 5-8


def parse(cpr: str) -> tuple[dt.date, str, bool]:
    """Return (birth date, legal sex 'M'/'F', is replacement number); raise CprError if invalid."""
    m = CPR_PATTERN.match(cpr.strip())
    if not m:
        raise CprError("malformed_cpr", "CPR number is not of the form DDMMYY-SSSS")
    dd, mm, yy, serial = int(m[1]), int(m[2]), int(m[3]), m[4]
    is_replacement = dd > REPLACEMENT_DAY_OFFSET
    if is_replacement:
        dd -= REPLACEMENT_DAY_OFFSET
    try:
        born = dt.date(century(yy, int(serial[0])) + yy, mm, dd)
    except ValueError:
        raise CprError("impossible_cpr", "CPR number's birth date does not exist") from None
    sex = "M" if int(serial[-1]) % 2 else "F"
    return born, sex, is_replacement


def passes_modulus11(cpr: str) -> bool:
    digits = [int(c) for c in cpr if c.isdigit()]
    return sum(w * d for w, d in zip(MOD11_WEIGHTS, digits, strict=True)) % 11 == 0


def fictitious_cprs(
    birth_dates: np.ndarray, is_male: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """CPR numbers that cannot belong to real people, for synthetic citizens.

    Until 2007 every CPR number passed modulus 11; since then the CPR office issues numbers that
    fail it only for birth dates whose valid numbers ran out, and those are all 1 January dates.
    So a number that fails modulus 11 and has another birth date has never been issued.
    Callers must not pass 1 January birth dates (the generator never draws them).
    Returns digits only (10 characters per number, as int64) for compact uniqueness checks.
    """
    import numpy as np

    days = birth_dates.astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    if np.any((months == 1) & (dom == 1)):
        raise ValueError("fictitious CPR numbers cannot be made for 1 January birth dates")
    if np.any((years < 1900) | (years > 2036)):
        raise ValueError("birth years must lie in 1900-2036")
    yy = years % 100
    n = len(days)
    # First serial digit: 0-3 for the 1900s, 4 for 2000-2036 (valid for both by the table).
    first = np.where(years < 2000, rng.integers(0, 4, n), 4)
    middle = rng.integers(0, 100, n)
    last_pair = rng.integers(0, 5, n) * 2 + np.where(is_male, 1, 0)  # parity gives sex
    serial = first * 1000 + middle * 10 + last_pair
    date_part = dom * 10000 + months * 100 + yy
    number = date_part * 10000 + serial
    # Force a modulus-11 failure: +/-2 on the last digit keeps its parity and moves the sum by 2.
    remainder = _mod11_sums(number) % 11
    bump = np.where(last_pair >= 8, -2, 2)
    return np.where(remainder == 0, number + bump, number)


def _mod11_sums(numbers: np.ndarray) -> np.ndarray:
    import numpy as np

    total = np.zeros(len(numbers), dtype=np.int64)
    rest = numbers.copy()
    for weight in reversed(MOD11_WEIGHTS):
        total += (rest % 10) * weight
        rest //= 10
    return total


def format_cprs(numbers: np.ndarray) -> np.ndarray:
    """int64 CPR digits to 'DDMMYY-SSSS' strings."""
    import numpy as np

    date_part = np.char.zfill((numbers // 10000).astype(str), 6)
    serial = np.char.zfill((numbers % 10000).astype(str), 4)
    return np.char.add(np.char.add(date_part, "-"), serial)

"""The session warehouse fixture is in tests/conftest.py; the suppression threshold is here."""

MIN_CELL = 5  # var('min_cell_citizens')

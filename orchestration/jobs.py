"""The jobs' names: defined with the jobs in `automation`, run by name from `pipeline`.

A module of their own, so that neither of the two imports the other.
"""

DAILY_JOB = "daily_refresh"
QUARTERLY_JOB = "quarterly_reporting"

"""The Dagster code location (see workspace.yaml).

Assets are added concern by concern: ingest, warehouse, quality, publish, reporting.
"""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions(assets=[])

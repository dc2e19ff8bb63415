"""Dagster resources: the settings object and the pseudonymisation key."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import PrivateAttr

from orchestration.ingest.pseudonyms import load_key
from orchestration.settings import Settings


class EffektSettings(dg.ConfigurableResource):
    """Paths of the pipeline; unset fields come from the environment (see settings.py)."""

    data_dir: str | None = None
    landing_dir: str | None = None
    raw_dir: str | None = None
    warehouse: str | None = None

    def settings(self) -> Settings:
        env = dict(os.environ)
        for variable, value in (
            ("EFFEKT_DATA_DIR", self.data_dir),
            ("EFFEKT_LANDING_DIR", self.landing_dir),
            ("EFFEKT_RAW_DIR", self.raw_dir),
            ("EFFEKT_WAREHOUSE", self.warehouse),
        ):
            if value:
                env[variable] = value
        return Settings.from_env(env)


class PseudonymKey(dg.ConfigurableResource):
    """The pseudonymisation secret, loaded when a run starts: no key, no run."""

    _key: bytes = PrivateAttr()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._key = load_key(Settings.from_env())

    @property
    def key(self) -> bytes:
        return self._key

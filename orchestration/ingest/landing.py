"""What lies in landing besides complete deliveries: folders still waiting for their manifest,
folders named otherwise than their delivery, and files no manifest lists.

Read from the folder names and manifests alone (no DuckDB), so `effekt status` can show it fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestration.settings import Settings

BESIDE_THE_FILES = {"manifest.json", "checksums.sha256"}


@dataclass(frozen=True)
class WaitingFolder:
    folder: str
    age_hours: float
    overdue: bool  # older than the warning age: the case system may have died mid-delivery


@dataclass
class LandingReport:
    landing_dir: str
    waiting: list[WaitingFolder] = field(default_factory=list)
    name_mismatches: list[dict] = field(default_factory=list)  # folder, delivery_id
    unlisted_files: list[dict] = field(default_factory=list)  # folder, file
    ready: list[str] = field(default_factory=list)  # complete in landing: the next run loads them
    processing_dir: str = ""
    # Left in processing by an ingest that stopped (a crash, a setting, rows that did not
    # reconcile), or being loaded now: the next run loads them with those in landing.
    in_processing: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per finding, for `effekt run` and `effekt status` (what waits to be loaded
        is in `pending_lines`)."""
        out = []
        for w in self.waiting:
            state = "WARNING: " if w.overdue else ""
            out.append(
                f"{state}{w.folder} has waited {w.age_hours:.1f} h for its manifest.json "
                "(not loaded until the case system writes it)"
            )
        for m in self.name_mismatches:
            out.append(
                f"{m['folder']}: the folder's name differs from its manifest's delivery id "
                f"{m['delivery_id']!r}; it loads, archived as {m['delivery_id']}"
            )
        for u in self.unlisted_files:
            out.append(f"{u['folder']}/{u['file']}: not listed in the manifest; it is not loaded")
        return out

    def pending_lines(self) -> list[str]:
        """The deliveries the next run takes up (it loads them oldest extract first), for
        `effekt status`: those in processing, then those in landing."""
        return [
            f"{name} waits in {self.processing_dir}: an ingest stopped before archiving or "
            "refusing it (or one is loading it now); the next run loads it"
            for name in self.in_processing
        ] + [f"{name}: complete, the next run loads it" for name in self.ready]

    def as_dict(self) -> dict:
        return asdict(self)


def unlisted_in(folder: Path, listed: Iterable[str]) -> list[str]:
    """Files in a delivery folder (and below it) that its manifest does not list: paths relative
    to the folder, with `/`, sorted; `manifest.json` and `checksums.sha256` do not count."""
    known = set(listed) | BESIDE_THE_FILES
    found = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return sorted(name for name in found if name not in known)


def complete_deliveries(parent: Path) -> list[Path]:
    """Folders in `parent` with their manifest: what the ingest takes up, from landing or from
    processing (`load.pending_deliveries`)."""
    if not parent.is_dir():
        return []
    return [p for p in parent.iterdir() if (p / "manifest.json").is_file()]


def scan_landing(settings: Settings, now: float | None = None) -> LandingReport:
    now = time.time() if now is None else now
    limit = settings.landing_wait_warning_hours
    report = LandingReport(str(settings.landing_dir), processing_dir=str(settings.processing_dir))
    report.in_processing = sorted(p.name for p in complete_deliveries(settings.processing_dir))
    if not settings.landing_dir.is_dir():
        return report
    for folder in sorted(p for p in settings.landing_dir.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        manifest_path = folder / "manifest.json"
        if not manifest_path.is_file():
            newest = max([folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.iterdir()])
            age = max(now - newest, 0) / 3600
            report.waiting.append(WaitingFolder(folder.name, round(age, 2), age >= limit))
            continue
        report.ready.append(folder.name)  # taken up, even with a manifest it then refuses
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # the ingest refuses it with a message naming manifest.json
        if not isinstance(manifest, dict):
            continue
        delivery_id = manifest.get("delivery_id")
        if isinstance(delivery_id, str) and delivery_id != folder.name:
            report.name_mismatches.append({"folder": folder.name, "delivery_id": delivery_id})
        files = manifest.get("files")
        listed = (
            [str(f.get("file")) for f in files if isinstance(f, dict)]
            if isinstance(files, list)
            else []
        )
        report.unlisted_files += [
            {"folder": folder.name, "file": name} for name in unlisted_in(folder, listed)
        ]
    return report

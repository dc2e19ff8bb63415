"""Alerts for the person on call: which run failed, in which step, and where to look.

A sink is any `AlertSink` resource; the default appends a JSON line to
`<data>/alerts/alerts.jsonl` and logs it. Set `EFFEKT_ALERT_WEBHOOK` to also post each alert as
JSON (a chat or incident tool's incoming webhook). Alerts carry identifiers, step names and
error messages with anything CPR-like masked; never row content.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import textwrap
import urllib.request
from pathlib import Path

import dagster as dg

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.settings import Settings
from orchestration.trace import already_alerted, read_alerts

__all__ = ["AlertSink", "FileAlertSink", "WebhookAlertSink", "read_alerts"]

log = logging.getLogger("effekt.alerts")
SUMMARY_WIDTH = 300  # characters in an alert's one-line summary


class AlertSink(dg.ConfigurableResource):
    """Where alerts go. Subclass and override `send` for another channel."""

    def send(self, alert: dict, settings: Settings) -> bool:
        """Deliver the alert; True if it was sent, False if this run's alert was sent before."""
        raise NotImplementedError


class FileAlertSink(AlertSink):
    """Append to a JSON-lines file (default `<data>/alerts/alerts.jsonl`) and log."""

    path: str | None = None

    def send(self, alert: dict, settings: Settings) -> bool:
        """Append the alert; False when this run's alert is on file already."""
        path = Path(self.path) if self.path else settings.alerts_file
        path.parent.mkdir(parents=True, exist_ok=True)
        if already_alerted(path, alert["run_id"]):
            return False  # an in-process run wrote it; the daemon's sensor saw the same run
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(alert, ensure_ascii=False) + "\n")
        log.error("effekt alert: %s", alert["summary"])
        return True


class WebhookAlertSink(FileAlertSink):
    """The file and log, then an HTTP POST of the alert as JSON."""

    url: str
    timeout_s: float = 10.0

    def send(self, alert: dict, settings: Settings) -> bool:
        if not super().send(alert, settings):
            return False
        request = urllib.request.Request(
            self.url,
            data=json.dumps(alert, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=self.timeout_s).close()
        except OSError as e:  # the alert is on file; a dead webhook must not hide it
            log.error("could not post the alert to %s: %s", self.url, e)
        return True


def default_sink(settings: Settings) -> AlertSink:
    """The alerts file, and the settings' webhook when there is one."""
    url = settings.alert_webhook
    return WebhookAlertSink(url=url) if url else FileAlertSink()


def _mask(text: str) -> str:
    return CPR_IN_TEXT.sub("<cpr masked>", text)


# What the person on call does next, by the step that failed.
NEXT_STEPS = {
    "ingest_deliveries": (
        "Ask the case system for a corrected delivery (a new delivery id), naming the file and "
        "the problem above; `effekt validate` on the refused folder lists every problem. It "
        "stays in {quarantine} with refusal.json. Deliveries after it are not held up: the "
        "next `effekt run` takes them."
    ),
    # not loaded, nothing committed, the folder left in processing (metadata reason)
    "ingest_deliveries:setting": (
        "Correct the setting named above (docs/operations.md lists them). Nothing of the "
        "delivery was read or committed; it waits in {processing} and the next `effekt run` "
        "loads it."
    ),
    "ingest_deliveries:reconciliation": (
        "Rows read did not add up to rows loaded and quarantined, so nothing was committed: a "
        "fault of the ingest, report it with the delivery id. The delivery waits in "
        "{processing}; the next `effekt run` tries it again."
    ),
    # an extract older than the current one, archived and not merged (metadata reason)
    "ingest_deliveries:superseded": (
        "Nothing to repair here: the current delivery stays current and published. Ask the case "
        "system why it sent an extract older than one it sent before; the old one is in "
        "{archive}. The next `effekt run` goes on as usual."
    ),
    "delivery_gate": (
        "Read the report. If the change is real (a unit closed or merged), accept it with "
        "`effekt accept`, then `effekt run`; otherwise ask for a corrected extract. Nothing "
        "new was built or published."
    ),
    "warehouse": (
        "dbt failed: read its lines in {log}. After fixing the cause, `effekt run` resumes "
        "the build of the delivery already loaded."
    ),
    "build_gate": (
        "Quality coordinators: the reports list every row to correct in the case system. "
        "Nothing was published; the next corrected delivery is built and gated again."
    ),
    "open__indicators": (
        "Secondary suppression failed: read its error in {log}. Nothing was published; after "
        "fixing the cause, `effekt run --rebuild`."
    ),
    "open__indicators_disclosure_audit": (
        "The disclosure audit found primary cells that the open tables would reveal; the "
        "report names each cell. Nothing was published and the previous version stays "
        "current. Check EFFEKT_SECONDARY_SUPPRESSION and EFFEKT_PROTECTION_WIDTH; if they are "
        "as intended, this is a fault of the suppression step: report it with the file."
    ),
    "published__current": (
        "Publishing failed; the previous version stays current, in the files and in "
        "PostgreSQL. Fix the cause named above (disk, permissions, the PostgreSQL target) and "
        "run `effekt run --rebuild`."
    ),
}


def _gate_reason(settings: Settings, run_id: str, step: str) -> tuple[str | None, str | None]:
    """The failed checks of a gate step, from the run's gate file, and the report folder."""
    name = "delivery" if step == "delivery_gate" else "build"
    run_dir = settings.run_reports_dir(run_id)
    path = run_dir / f"gate-{name}.json"
    if not path.exists():
        return None, None
    failures = json.loads(path.read_text(encoding="utf-8"))["failures"]
    errors = [f for f in failures if f["severity"] == "error"]
    reason = "; ".join(
        f"{f['suite']}: {f['column']} on {f['unexpected_count']:,} rows ({f['explanation_en']})"
        for f in errors[:5]
    ) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
    areas = run_dir / "areas"
    return reason or None, str(areas if areas.is_dir() else run_dir)


def _innermost(error):
    """The error that caused the others: an exception raised in a step reaches Dagster wrapped
    ("Error occurred while executing op ..."), with what went wrong as its cause."""
    while error.cause is not None:
        error = error.cause
    return error


def step_failure(settings: Settings, run_id: str, event) -> dict:
    """One failed step: its error, and the reason and file a person acts on."""
    data = event.event_specific_data
    error = _innermost(data.error).message.strip() if data and data.error else "no error message"
    user = data.user_failure_data if data else None
    metadata = {k: getattr(v, "value", v) for k, v in (user.metadata if user else {}).items()}
    step = event.step_key
    reason, file = (user.description if user and user.description else error), metadata.get("file")
    if step in ("delivery_gate", "build_gate"):
        gate_reason, report = _gate_reason(settings, run_id, step)
        reason, file = gate_reason or reason, report
    elif step == "warehouse":
        file = str(settings.log_file)
    elif step == "open__indicators_disclosure_audit":
        report = settings.run_reports_dir(run_id) / "disclosure-audit.json"
        if report.exists():
            findings = json.loads(report.read_text(encoding="utf-8"))["findings"]
            reason = "; ".join(f["text"] for f in findings[:3]) + (
                f"; and {len(findings) - 3} more" if len(findings) > 3 else ""
            )
            file = str(report)
    hint = NEXT_STEPS.get(f"{step}:{metadata.get('reason')}") or NEXT_STEPS.get(
        step, "See the run's events in the Dagster UI."
    )
    return {
        "step": step,
        "error": _mask(error.splitlines()[0][:500]),
        "reason": _mask(reason.strip().splitlines()[0][:1000]),
        "file": file,
        "next": hint.format(
            quarantine=metadata.get("quarantine") or settings.quarantine_dir,
            archive=metadata.get("archive") or settings.archive_dir,
            processing=metadata.get("processing") or settings.processing_dir,
            log=settings.log_file,
        ),
    }


def build_alert(
    settings: Settings,
    run_id: str,
    job_name: str,
    tags: dict[str, str],
    failure_events: list,
    run_message: str = "",
) -> dict:
    """The alert for a failed run: job, the failed step with its reason and file, what next."""
    steps = [step_failure(settings, run_id, event) for event in failure_events]
    reports = settings.run_reports_dir(run_id)
    report = reports / "areas" if (reports / "areas").is_dir() else reports
    ui = settings.ui_url.rstrip("/")
    first = steps[0] if steps else {}
    where = ", ".join(s["step"] for s in steps) or "before any step ran"
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "job": job_name,
        "partition": tags.get("dagster/partition"),
        "delivery": tags.get("effekt/delivery"),
        "failed_step": first.get("step"),
        "reason": first.get("reason") or _mask(run_message.strip())[:1000],
        "file": first.get("file"),
        "next": first.get("next"),
        "failed_steps": steps,
        # One line for a chat or a pager: cut at a word, marked, never mid-word.
        "summary": textwrap.shorten(
            f"{job_name} run {run_id[:8]} failed in {where}: {first.get('reason', '')}",
            SUMMARY_WIDTH,
            placeholder=" \u2026 (effekt status has the rest)",
        ),
        "run_message": _mask(run_message.strip())[:500],
        "report": str(report) if reports.exists() else None,
        "run_url": f"{ui}/runs/{run_id}",
    }


def failure_alert(context: dg.RunFailureSensorContext, settings: Settings) -> dict:
    """The alert for a run that failed under the daemon."""
    run = context.dagster_run
    return build_alert(
        settings, run.run_id, run.job_name, dict(run.tags),
        context.get_step_failure_events(), context.failure_event.message or "",
    )  # fmt: skip


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes an alert (file, log, optional webhook) naming the failed step and the report.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, alerts: AlertSink) -> None:
    # A sensor gets no run config: the environment's settings, as the daemon's runs have.
    settings = Settings.from_env()
    alerts.send(failure_alert(context, settings), settings)

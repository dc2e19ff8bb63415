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
import os
import urllib.request
from pathlib import Path

import dagster as dg

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.resources import EffektSettings
from orchestration.settings import Settings

log = logging.getLogger("effekt.alerts")
UI_URL = "EFFEKT_UI_URL"  # where people open the Dagster UI, for links in alerts


class AlertSink(dg.ConfigurableResource):
    """Where alerts go. Subclass and override `send` for another channel."""

    def send(self, alert: dict, settings: Settings) -> None:
        raise NotImplementedError


class FileAlertSink(AlertSink):
    """Append to a JSON-lines file (default `<data>/alerts/alerts.jsonl`) and log."""

    path: str | None = None

    def send(self, alert: dict, settings: Settings) -> None:
        path = Path(self.path) if self.path else alerts_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(alert, ensure_ascii=False) + "\n")
        log.error("effekt alert: %s", alert["summary"])


class WebhookAlertSink(FileAlertSink):
    """The file and log, then an HTTP POST of the alert as JSON."""

    url: str
    timeout_s: float = 10.0

    def send(self, alert: dict, settings: Settings) -> None:
        super().send(alert, settings)
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


def default_sink() -> AlertSink:
    url = os.environ.get("EFFEKT_ALERT_WEBHOOK")
    return WebhookAlertSink(url=url) if url else FileAlertSink()


def alerts_file(settings: Settings) -> Path:
    return settings.data_dir / "alerts" / "alerts.jsonl"


def read_alerts(settings: Settings, limit: int = 10) -> list[dict]:
    """The newest alerts first."""
    path = alerts_file(settings)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in reversed(lines[-limit:]) if line.strip()]


def _mask(text: str) -> str:
    return CPR_IN_TEXT.sub("<cpr masked>", text)


def failure_alert(context: dg.RunFailureSensorContext, settings: Settings) -> dict:
    """The alert for a failed run: job, failed steps with their errors, report and run links."""
    run = context.dagster_run
    steps = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        message = error.message.strip() if error else "no error message"
        steps.append({"step": event.step_key, "error": _mask(message.splitlines()[0][:500])})
    run_message = _mask((context.failure_event.message or "").strip())
    reports = settings.data_dir / "reports" / run.run_id
    report = reports / "areas" if (reports / "areas").is_dir() else reports
    ui = os.environ.get(UI_URL, "http://localhost:3000").rstrip("/")
    where = ", ".join(s["step"] for s in steps) or "before any step ran"
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "job": run.job_name,
        "partition": run.tags.get("dagster/partition"),
        "delivery": run.tags.get("effekt/delivery"),
        "failed_steps": steps,
        "summary": f"{run.job_name} run {run.run_id[:8]} failed in {where}",
        "run_message": run_message[:500],
        "report": str(report) if reports.exists() else None,
        "run_url": f"{ui}/runs/{run.run_id}",
    }


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes an alert (file, log, optional webhook) naming the failed step and the report.",
)
def alert_on_run_failure(
    context: dg.RunFailureSensorContext, effekt: EffektSettings, alerts: AlertSink
) -> None:
    settings = effekt.settings()
    alerts.send(failure_alert(context, settings), settings)

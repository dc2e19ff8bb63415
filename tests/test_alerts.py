"""A failed run leaves an alert naming the failed step and where to look, and nothing personal."""

import json
import shutil
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from orchestration.alerts import FileAlertSink, WebhookAlertSink, alert_on_run_failure, read_alerts
from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.definitions import defs
from orchestration.instance import get_instance
from orchestration.resources import SettingsResource
from tests.conftest import operated_settings


def _failed_run(settings, delivery):
    """The daily job on a delivery whose goals file does not match its manifest's checksum."""
    shutil.copytree(delivery, settings.landing_dir / delivery.name)
    instance = get_instance(settings)
    result = defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=instance,
        run_config={"resources": SettingsResource.run_config(settings)},
        raise_on_error=False,
    )
    assert not result.success
    return instance, result


def _alert(settings, instance, result, sink):
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={"alerts": sink},
    ).for_run_failure()
    with pytest.MonkeyPatch.context() as env:  # a sensor's settings are the environment's
        for variable, value in settings.env().items():
            env.setenv(variable, value)
        alert_on_run_failure(context)


def test_a_failed_run_writes_an_alert_naming_the_step_and_the_report(make_delivery, tmp_path):
    refused = make_delivery(citizens=120, seed=3, file_defects=("checksum_mismatch",))
    settings = operated_settings(tmp_path)
    instance, result = _failed_run(settings, refused.path)

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    sink = WebhookAlertSink(url=f"http://127.0.0.1:{server.server_port}/alerts")
    _alert(settings, instance, result, sink)
    server.server_close()
    instance.dispose()

    [alert] = read_alerts(settings)
    assert alert["job"] == "daily_refresh" and alert["run_id"] == result.run_id
    assert [s["step"] for s in alert["failed_steps"]] == ["ingest_deliveries"]
    assert "goals" in alert["failed_steps"][0]["error"]  # names the file
    assert alert["run_url"].endswith(f"/runs/{result.run_id}")
    assert alert["summary"].startswith("daily_refresh run")
    assert received == [alert]  # the webhook got the same record
    text = (settings.data_dir / "alerts" / "alerts.jsonl").read_text()
    assert not CPR_IN_TEXT.search(text)


def test_the_file_sink_writes_where_it_is_told(tmp_path, make_delivery):
    refused = make_delivery(citizens=120, seed=3, file_defects=("missing_column",))
    settings = operated_settings(tmp_path)
    instance, result = _failed_run(settings, refused.path)
    target = tmp_path / "elsewhere" / "alerts.jsonl"
    _alert(settings, instance, result, FileAlertSink(path=str(target)))
    instance.dispose()
    [line] = target.read_text().splitlines()
    assert json.loads(line)["failed_steps"][0]["step"] == "ingest_deliveries"


def test_an_ingest_setting_error_says_the_delivery_waits_in_processing(make_delivery, tmp_path):
    """A setting the ingest cannot use is not a refusal: the alert names the setting and sends
    the person on call to fix it, not to the case system, and the delivery is not quarantined."""
    delivery = make_delivery(citizens=120, seed=3)
    settings = replace(operated_settings(tmp_path), ingest_memory_limit="lots")
    instance, result = _failed_run(settings, delivery.path)
    _alert(settings, instance, result, FileAlertSink())
    instance.dispose()
    [alert] = read_alerts(settings)
    [step] = alert["failed_steps"]
    assert step["step"] == "ingest_deliveries"
    assert "EFFEKT_INGEST_MEMORY_LIMIT='lots'" in step["reason"]
    assert step["next"].startswith("Correct the setting named above")
    assert str(settings.processing_dir) in step["next"] and "quarantine" not in step["next"]
    assert [p.name for p in settings.processing_dir.iterdir()] == [delivery.path.name]
    assert not any(settings.quarantine_dir.iterdir())

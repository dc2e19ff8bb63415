"""The on-call view: the UI started from workspace.yaml shows the asset graph and the automation."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ARTIFACTS

GROUPS = ("ingest", "quality", "warehouse", "publish", "reporting")


LEAF_TEXTS = """return Array.from(document.querySelectorAll('body *'))
    .filter(e => e.children.length === 0 && e.textContent.trim())
    .map(e => e.textContent.trim());"""


def _texts(driver) -> list[str]:
    """Texts of the page's leaf elements, read in one go while React re-renders."""
    return driver.execute_script(LEAF_TEXTS)


def test_the_asset_graph_shows_the_pipeline_s_groups(dagster_ui, browser):
    browser.get(f"{dagster_ui}/asset-groups")
    # Each group appears twice once the graph has rendered: in the side tree and as a box in it.
    WebDriverWait(browser, 120).until(
        lambda d: all(_texts(d).count(group) >= 2 for group in GROUPS)
    )
    browser.save_screenshot(str(ARTIFACTS / "dagster-asset-graph.png"))
    assert "Global asset lineage" in browser.find_element(By.TAG_NAME, "body").text


def test_the_automation_page_lists_the_schedules_and_sensors(dagster_ui, browser):
    browser.get(f"{dagster_ui}/automation")
    names = ("daily_refresh_schedule", "quarterly_reporting_schedule", "landing_sensor",
             "alert_on_run_failure")  # fmt: skip
    WebDriverWait(browser, 120).until(
        lambda d: all(n in d.find_element(By.TAG_NAME, "body").text for n in names)
    )
    browser.save_screenshot(str(ARTIFACTS / "dagster-automation.png"))

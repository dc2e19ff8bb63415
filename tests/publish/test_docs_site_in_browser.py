"""An analyst browses what a version holds: the dbt documentation site published with it opens
offline, lists every published table with its description, and draws the lineage."""

import json
import shutil

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from orchestration.publish import DOCS_SITE, publish
from orchestration.publish.descriptions import published_descriptions
from tests.conftest import ARTIFACTS
from tests.publish.test_publish import PASSED


def test_the_published_docs_site_opens_and_describes_the_published_tables(
    own_warehouse, browser, tmp_path
):
    version = publish(own_warehouse, "run-1", PASSED)
    assert json.loads((version.path / "manifest.json").read_text())["files"]["docs"] == DOCS_SITE
    copy = tmp_path / "copied-version"  # a copy of the folder: the page needs nothing beside it
    shutil.copytree(version.path / "docs", copy)
    described = published_descriptions()[("indicators", "ind_goal_attainment")]

    browser.get((copy / "index.html").as_uri() + "#!/model/model.effekt.ind_goal_attainment")
    wait = WebDriverWait(browser, 60)
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), described.text[:60]))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "ind_goal_attainment" in body and "avg_goal_attainment_pct" in body
    browser.save_screenshot(str(ARTIFACTS / "dbt-docs-model.png"))
    # The lineage: the fact sheets (an exposure) depend on the published indicators.
    browser.get((copy / "index.html").as_uri() + "#!/exposure/exposure.effekt.fact_sheets")
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "ind_goal_attainment"))
    # Not errors of the page's: Chromium's warning that a file: page may not rewrite its own URL
    # (dbt's page router), and dbt's static page naming its favicon by an unresolved template.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    errors = [e["message"] for e in errors if e["source"] != "security"]
    assert [m for m in errors if "favicon.ico" not in m] == []

"""Both notebooks run headless, unedited, on a data folder the demo's way (daily job, quarterly report)."""

from pathlib import Path

import jupytext
import nbclient
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["quality_coordinator.py", "indicator_explorer.py"])
def test_the_notebook_executes_without_errors(name, reported, monkeypatch):
    monkeypatch.setenv("EFFEKT_DATA_DIR", str(reported.operated.settings.data_dir))
    notebook = jupytext.read(NOTEBOOKS / name)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )  # fmt: skip
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)

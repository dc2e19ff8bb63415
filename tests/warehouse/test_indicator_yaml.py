"""The indicator tables' YAML is the script's output, so the two never drift."""

import importlib.util

from orchestration.warehouse import DBT_PROJECT_DIR


def test_the_indicator_yaml_is_current():
    spec = importlib.util.spec_from_file_location(
        "indicator_yaml", DBT_PROJECT_DIR / "scripts" / "indicator_yaml.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OUT.read_text(encoding="utf-8") == module.render(), (
        "run python dbt_project/scripts/indicator_yaml.py"
    )

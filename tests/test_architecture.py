"""The package's shape: no module reaches, directly or through others, back to itself.

Imports inside functions count too: a lazy import hides a circle from the interpreter, not
from the reader.
"""

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "orchestration"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every module of the package and the package's modules it imports."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))  # fmt: skip
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    found.add(target if target in modules else base)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_import_circle():
    graph = imports()
    assert "orchestration.pipeline" in graph and "orchestration.automation" in graph
    # A module may import its own package's __init__ (Python runs it first anyway); every
    # other path back to a module is a circle.
    edges = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    try:
        list(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as error:
        raise AssertionError(f"import circle: {' -> '.join(error.args[1])}") from None


def test_the_pipeline_does_not_import_the_test_data_generator():
    """The generator makes test deliveries; ingest and the rest must not need it."""
    graph = imports()
    for module, targets in graph.items():
        if not module.startswith(("orchestration.generate", "orchestration.cli")):
            assert not {t for t in targets if t.startswith("orchestration.generate")}, module


def test_the_architecture_page_names_the_owner_of_every_module():
    """docs/architecture.md is where a newcomer finds who owns what: every package and every
    top-level module of orchestration/ is named there."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    owners = {
        (f"orchestration/{p.name}/" if p.is_dir() else p.name)
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.name != "__init__.py")
    }
    missing = sorted(o for o in owners if f"`{o}" not in page and f"{o}`" not in page)
    assert not missing, f"docs/architecture.md names no owner for {missing}"

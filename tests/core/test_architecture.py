"""What import-linter cannot see by itself: that its contracts cover every module of the
core, and that the plugin API says what it exports (httpx's test_exported_members)."""

from __future__ import annotations

import types
from pathlib import Path

import tomli

import twoway
import twoway.plugin

ROOT = Path(__file__).resolve().parents[2]
ASSEMBLY = {"twoway.cli", "twoway.wiring", "twoway.__main__"}
"""The command line and what only it uses: the modules allowed to put collectors and views together."""
PLUGGED = {"twoway.collectors", "twoway.tui"}
VIEWS = {"twoway.publish"}
"""Views that live under twoway/ (the report): not core, and the core may not import them."""


def _contracts() -> dict[str, dict[str, list[str]]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        linter = tomli.load(f)["tool"]["importlinter"]
    return {c["name"]: c for c in linter["contracts"]}


def _core_modules() -> set[str]:
    """Every module and package directly under twoway/, but the plugged-in folders and the assembly."""
    package = Path(twoway.__file__).parent
    names = {f"twoway.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    names |= {f"twoway.{p.name}" for p in package.iterdir() if (p / "__init__.py").exists()}
    return names - ASSEMBLY - PLUGGED - VIEWS


def test_the_core_contract_lists_every_core_module() -> None:
    core = _contracts()["The core imports neither the views, the collectors nor Textual"]
    assert set(core["source_modules"]) == _core_modules()
    assert {"twoway.tui", "twoway.collectors", "textual"} | VIEWS <= set(core["forbidden_modules"])


def test_views_and_collectors_stay_apart() -> None:
    contracts = _contracts()
    assert contracts["Views never import collectors"]["forbidden_modules"] == ["twoway.collectors"]
    assert VIEWS <= set(contracts["Views never import collectors"]["source_modules"])
    report = contracts["The report is built from the view-model only: never the store, the metrics engine or Textual"]
    assert {"twoway.store", "twoway.metrics", "textual"} <= set(report["forbidden_modules"])
    collectors = contracts["Collectors never import views, the store or the metrics engine"]
    assert {"twoway.tui", "twoway.store", "twoway.metrics"} <= set(collectors["forbidden_modules"])


def test_the_plugin_api_exports_what_it_names() -> None:
    exported = set(twoway.plugin.__all__)
    public = {
        name
        for name, value in vars(twoway.plugin).items()
        if not name.startswith("_") and name != "annotations" and not isinstance(value, types.ModuleType)
    }
    assert public == exported - {"table"}  # `table` is the export readers' module, exported whole
    assert isinstance(twoway.plugin.table, types.ModuleType)

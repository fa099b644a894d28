"""The packages import one way (README, Layout): a new upward import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each package of ours, and the packages of ours it may import.
ALLOWED = {
    "core": set(),
    "audit": {"core"},
    "accounts": {"core", "audit"},
    "channels_admin": {"core", "audit"},
    "tokens": {"core", "audit", "channels_admin"},
    "usage": {"core", "audit", "channels_admin", "tokens"},
    "gateway": {"core", "audit", "accounts", "channels_admin", "tokens", "usage"},
}


def _imported_packages(path: Path) -> set[str]:
    """Our top-level packages a module imports, at any depth (imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in ALLOWED)
    return found


def _upward_imports() -> list[str]:
    problems = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported in _imported_packages(path) - allowed - {package}:
                problems.append(f"{path.relative_to(ROOT)} imports {imported}")
    return problems


def test_no_package_imports_upwards() -> None:
    assert _upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    # The check itself must be able to fail: a module of core importing the gateway is caught.
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from gateway.relay import app\n")
    assert _imported_packages(module) == {"gateway"}

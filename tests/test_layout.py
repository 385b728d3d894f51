"""The architecture's rules, checked on the source: analysis is pure computation."""

from __future__ import annotations

import ast
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[1] / "analysis"
FORBIDDEN = ("sensor", "bleak", "asyncio", "aiohttp")


def _imports(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, node))
    return out


def test_analysis_never_imports_io():
    for path in sorted(ANALYSIS.glob("*.py")):
        for name, _ in _imports(ast.parse(path.read_text())):
            assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_matplotlib_only_in_plotting_code_and_only_lazily():
    for path in sorted(ANALYSIS.glob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        for name, node in _imports(tree):
            if name.split(".")[0] == "matplotlib":
                assert path.name == "plots.py", f"{path.name} imports matplotlib"
                assert id(node) not in top_level, "plots.py must import matplotlib inside functions"


def test_backcheck_help_does_not_load_heavy_modules():
    import subprocess
    import sys

    code = ("import sys; from sensor import cli; sys.argv=['backcheck']; cli.build_parser(); "
            "print(' '.join(m for m in ('pandas', 'matplotlib', 'numba', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

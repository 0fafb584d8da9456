"""The house's layout: every module imports on its own (no import cycle), and no function
hides an import to dodge one."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import wapshop

ROOT = Path(wapshop.__file__).parent
# One interpreter, and before each module every wapshop module is forgotten: the module
# is imported first, as a script or a worker importing it would, and a cycle through it
# fails here. (Third-party packages stay loaded: they are not ours to check, and it is fast.)
IMPORT_EACH = """
import importlib, sys, traceback
failed = 0
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "wapshop" or m.startswith("wapshop.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed += 1
        print(f"--- {name}", traceback.format_exc(), sep="\\n")
sys.exit(1 if failed else 0)
"""


def modules() -> list[str]:
    found = ["wapshop"]
    for info in pkgutil.walk_packages([str(ROOT)], prefix="wapshop."):
        found.append(info.name)
    return found


def test_every_module_imports_first():
    names = modules()
    assert "wapshop.payments.registry" in names and "wapshop.services.checkout" in names
    done = subprocess.run(
        # The bound only stops a hang: every module re-imports the package, slow on a busy machine.
        [sys.executable, "-c", IMPORT_EACH, *names],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _imports_in_functions(source: str) -> list[int]:
    """Lines of imports inside a function body without a comment on, or just above, them."""
    lines = source.splitlines()
    hidden = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import | ast.ImportFrom):
                here, above = lines[inner.lineno - 1], lines[inner.lineno - 2]
                if "#" not in here and not above.strip().startswith("#"):
                    hidden.append(inner.lineno)
    return hidden


def test_no_function_hides_an_import():
    hidden = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if found := _imports_in_functions(path.read_text(encoding="utf-8")):
            hidden[name] = found
    assert hidden == {}

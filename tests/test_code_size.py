"""Size limits that keep modules and functions readable: no module in the package over
500 lines and no function over 80 lines (database migrations aside, they are generated).
"""

from __future__ import annotations

import ast
from pathlib import Path

import fallwatch

PACKAGE = Path(fallwatch.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts]


def test_no_module_over_the_limit() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def _long_functions(source: str) -> dict[str, int]:
    """`"line name": length` of every function (methods, nested, async) over the limit."""
    long = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = (node.end_lineno or node.lineno) - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                long[f"{node.lineno} {node.name}"] = n
    return long


def test_no_function_over_the_limit() -> None:
    long = {
        f"{p.relative_to(PACKAGE)}:{where}": n
        for p in _sources()
        for where, n in _long_functions(p.read_text()).items()
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_a_long_method_nested_in_a_class_is_found() -> None:
    # Methods and async functions count, or the test above would prove nothing.
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    short = "    def g(self):\n        return 1\n"
    source = f"class A:\n{short}    async def f(self):\n{body}\n"
    assert _long_functions(source) == {"4 f": MAX_FUNCTION_LINES + 1}

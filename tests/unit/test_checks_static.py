"""static.nested_loop / static.imports on probe sources (no run needed)."""

from recordings import judge, make_ctx

from checks.static import declared_distributions, import_findings, nested_loop_findings

NESTED = """\
import asyncio
from asyncio import run as start

def helper():
    asyncio.run(work())

def outer():
    helper()

async def main():
    asyncio.run(work())
    loop = asyncio.get_event_loop()
    loop.run_until_complete(work())
    asyncio.get_event_loop().run_until_complete(work())
    outer()
    start(work())

    def later():
        asyncio.run(work())  # defined, not run, inside the coroutine
    await asyncio.sleep(0)

async def work():
    pass

if __name__ == "__main__":
    asyncio.run(main())
"""

CLEAN = """\
import argparse
import asyncio

from bcc import BPF

async def main():
    await asyncio.sleep(0)

def run_probe():
    asyncio.run(main())
"""


def test_nested_loop_findings_name_each_line():
    lines = [line for line, _ in nested_loop_findings(NESTED)]
    assert lines == [11, 13, 14, 15, 16]
    messages = dict(nested_loop_findings(NESTED))
    assert messages[11].startswith("asyncio.run() inside the coroutine main()")
    assert "calls outer(), which starts an event loop with helper() at line 8" in messages[15]


def test_loop_started_at_top_level_or_in_plain_functions_is_fine():
    assert nested_loop_findings(CLEAN) == []


def test_nested_loop_kind_fails_with_the_first_line():
    v = judge("static.nested_loop", {}, make_ctx(source=NESTED))
    assert v.status == "fail"
    assert v.message.startswith("Line 11: asyncio.run() inside the coroutine main()")
    assert "(4 more after it)" in v.message and len(v.observed) == 5


def test_nested_loop_kind_passes_clean_source():
    assert judge("static.nested_loop", {}, make_ctx(source=CLEAN)).status == "pass"


def test_syntax_error_fails_with_its_line():
    v = judge("static.nested_loop", {}, make_ctx(source="import os\ndef broken(:\n"))
    assert v.status == "fail" and v.message.startswith("Line 2:")
    assert judge("static.imports", {}, make_ctx(source="x = (\n")).status == "fail"


def test_empty_source_or_params_are_errors():
    assert judge("static.nested_loop", {}, make_ctx(source="")).status == "error"
    assert judge("static.imports", {"strict": True}, make_ctx(source=CLEAN)).status == "error"


def test_declared_distributions_come_from_pyproject():
    declared = declared_distributions()
    assert {"pyyaml", "jsonschema", "pytest"} <= declared


def test_clean_imports_pass():
    source = CLEAN + "import yaml\nimport os.path\nfrom collections.abc import Iterable\n"
    v = judge("static.imports", {}, make_ctx(source=source))
    assert v.status == "pass", v.message


def test_undeclared_and_missing_imports_fail_with_lines():
    source = "import os\nimport rich\nimport no_such_module_xyz\nfrom os import nothere\n"
    findings = import_findings(source)
    assert [(line, mod) for line, mod, _ in findings] == [
        (2, "rich"),
        (3, "no_such_module_xyz"),
    ]
    v = judge("static.imports", {}, make_ctx(source=source))
    assert v.status == "fail"
    assert v.message.startswith("Line 2: 'rich' is third-party and not declared")


def test_missing_submodule_fails():
    assert import_findings("import os.nothere_xyz\n")[0][:2] == (1, "os.nothere_xyz")
    assert import_findings("from xml.nothere_xyz import a\n")[0][:2] == (1, "xml.nothere_xyz")


def test_guarded_optional_imports_and_local_modules_are_not_flagged():
    source = "try:\n    import no_such_module_xyz\nexcept ImportError:\n    pass\n"
    assert import_findings(source) == []
    assert import_findings("from probe import format_event\n", local=["probe"]) == []
    assert import_findings("from probe import format_event\n") != []

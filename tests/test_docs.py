"""The docs are kept honest by tests, as datasette's tests/test_docs.py keeps its settings documented.

Every touchpoint stage, board-pack KPI code, command and exit code is in the docs (docs/*.md or
README.md), and every citation of a doc in the code names a doc and a section that exist. Each
test names what is missing.
"""

import re
from pathlib import Path

import click

from ehcp_monitor import errors
from ehcp_monitor.cli import cli
from ehcp_monitor.domain.vocabulary import KPI_CODES, TOUCHPOINT_STAGES

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
TEXT = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
PROGRAM = "ehcp-monitor"


def _commands(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and subcommand, walked through click's own API (a lazy group lists the same)."""
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        found.append(path + (name,))
        if isinstance(command, click.Group):
            found += _commands(command, click.Context(command, parent=ctx, info_name=name), path + (name,))
    return found


def _headings(path: Path) -> list[str]:
    """A doc's section headings, without their numbers (`2b. SEN2 XML` -> `SEN2 XML`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    in_code = False
    found = []
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            found.append(re.sub(r"^#+\s*(\d+[a-z]?\.\s+)?", "", line).strip())
    return found


def test_every_touchpoint_stage_is_documented():
    missing = [stage for stage in TOUCHPOINT_STAGES if f"`{stage}`" not in TEXT]
    assert not missing, f"touchpoint stages missing from the docs (add them to docs/touchpoints.md): {missing}"


def test_every_kpi_code_is_documented():
    missing = [code for code in KPI_CODES if f"`{code}`" not in TEXT]
    assert not missing, f"board-pack KPI codes missing from the docs (add them to docs/board-pack.md): {missing}"


def test_every_command_is_documented():
    commands = _commands(cli, click.Context(cli, info_name=PROGRAM))
    assert ("check",) in commands and ("touchpoints", "plan") in commands
    missing = [" ".join((PROGRAM,) + path) for path in commands
               if not re.search(re.escape(" ".join((PROGRAM,) + path)) + r"(?![\w-])", TEXT)]
    assert not missing, f"commands missing from the docs (add them to docs/commands.md): {missing}"


def test_every_exit_code_is_documented():
    codes = sorted({value for name, value in vars(errors).items() if name.startswith("EXIT_")})
    assert codes, "no EXIT_* codes in ehcp_monitor/errors.py"
    tables = [section for section in re.split(r"\n(?=#+ )", TEXT) if section.startswith("## Exit codes")]
    assert tables, "no `## Exit codes` section in the docs"
    missing = [code for code in codes if not any(re.search(rf"^\| {code} \|", t, re.MULTILINE) for t in tables)]
    assert not missing, f"exit codes missing from the docs' Exit codes table (docs/operations.md): {missing}"


# Any mention of a doc must name one that exists; a citation in brackets names its sections too:
# "(docs/rules.md, Review cycles)", "(in that order: docs/rules.md, Status on the as-of date; Late
# and very late)". A section is named by its heading or a part of it (where a line breaks the name).
MENTION = re.compile(r"docs/([\w-]+\.md)")
CITATION = re.compile(r"\((?:[^()\n]*?:\s)?docs/([\w-]+\.md),\s+([^)\n]+)")
CITED_FROM = ("ehcp_monitor", "jobs", "sql", "reports", "tests", "bench", "scripts")


def _lines():
    for top in CITED_FROM:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix in {".py", ".sql", ".j2", ".md"} and path != Path(__file__).resolve():
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    yield f"{path.relative_to(ROOT)}:{number}", line


def test_every_doc_cited_by_the_code_exists_with_its_section():
    headings = {path.name: [h.lower() for h in _headings(path)] for path in DOCS if path.parent.name == "docs"}
    wrong = []
    for where, line in _lines():
        wrong += [f"{where}: docs/{doc} does not exist" for doc in MENTION.findall(line) if doc not in headings]
        for doc, sections in CITATION.findall(line):
            for cited in sections.split(";"):
                cited = cited.strip().strip("\"'`").split(":")[0].rstrip(".,").strip().lower()
                if doc in headings and cited and not any(cited in h or cited.startswith(h)
                                                         for h in headings[doc]):
                    wrong.append(f"{where}: docs/{doc} has no section {cited!r}")
    assert not wrong, "citations of docs or sections that do not exist:\n" + "\n".join(sorted(set(wrong)))


def test_nothing_cites_the_spec_outside_the_repository():
    outside = re.compile(r"\b(domain|outputs|input-format)\.md\b")
    wrong = [f"{path.relative_to(ROOT)}:{number}"
             for top in CITED_FROM + ("docs",)
             for path in sorted((ROOT / top).rglob("*"))
             if path.suffix in {".py", ".sql", ".j2", ".md"} and path != Path(__file__).resolve()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if outside.search(line)]
    wrong += [path.name for path in DOCS if outside.search(path.read_text(encoding="utf-8"))]
    assert not wrong, "cites domain.md / outputs.md / input-format.md, which are not in this repository " \
                      "(cite docs/rules.md, docs/input-formats.md, ... instead):\n" + "\n".join(wrong)


def test_benchmark_figures_live_only_in_bench_readme():
    """Timings go stale: code and docs give the reason and point at bench/README.md for the figures."""
    timing = re.compile(r"(?<![\w.\-])\d+(\.\d+)? ?(s|ms|seconds)\b|\b\d+(\.\d+)?x (faster|slower)|rows/s\b"
                        r"|\b\d+(\.\d+)?M rows")
    wrong = [where for where, line in _lines() if not where.startswith(("bench", "tests")) and timing.search(line)]
    wrong += [f"{path.relative_to(ROOT)}:{number}"
              for path in DOCS
              for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if timing.search(line)]
    assert not wrong, "benchmark figures outside bench/README.md (move them there):\n" + "\n".join(wrong)


def test_every_template_variable_is_documented():
    """docs/touchpoints.md, Templates: every variable every template has (stage facts are in the
    stages table)."""
    from ehcp_monitor import config
    from ehcp_monitor.touchpoints.templates import template_variables

    variables = template_variables(stage="request_received", case_ref="R1", event_date="2025-03-10", variant=None,
                                   context={}, settings=config.defaults())
    page = (ROOT / "docs" / "touchpoints.md").read_text(encoding="utf-8")
    missing = [name for name in variables if f"`{name}`" not in page]
    assert not missing, f"template variables missing from docs/touchpoints.md, Templates: {missing}"

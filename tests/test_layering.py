"""The package's layers, read from the source with `ast` (docs/architecture.md, Layers).

- `ehcp_monitor/domain/` is pure: it imports nothing of ours but other domain modules.
- The features (ingest, checks, touchpoints, late list, board pack) never import one another.
- The shared modules below them import no feature.
- Every top-level module of the package is placed in one of those layers, or above them.
- Nothing in the package imports a top-level module named `jobs`: the jobs install inside the
  package, as `ehcp_monitor.jobs`.

Every import counts: module-level and function-local, `import x` and `from x import y`, relative
ones resolved, and the module names given to `importlib.import_module` as a literal.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ehcp_monitor"
FEATURES = ("ingest", "checks", "touchpoints", "late_list", "board_pack")
# Below the features: they may be imported by any feature and import none.
SHARED = ("domain", "config", "db", "exports", "xlsx_rows", "transports", "forecast", "logs", "errors", "paths",
          "private_files", "clock", "synthetic", "working_days", "cron", "capacity", "review_recovery",
          "rules_doc", "data_quality", "promise")
# Above the features: they wire features together and may import any of them.
ABOVE = ("cli", "scheduling", "jobs", "demo", "__init__", "__main__")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, the import as written, the absolute module names it may load) of every import in the
    file; names imported from a package count as modules of it (`from ehcp_monitor import checks`
    may load `ehcp_monitor.checks`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {alias.name}", [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [alias.name for alias in node.names]
            written = f"from {'.' * node.level}{node.module or ''} import {', '.join(names)}"
            found.append((node.lineno, written, [module] + [f"{module}.{n}" for n in names if n != "*"]))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id == "import_module"))):
            found.append((node.lineno, f"import_module({node.args[0].value!r})", [node.args[0].value]))
    return found


def _violations(paths: list[Path], wrong) -> list[str]:
    """`path:line: the import` for every import of the files that may load a module `wrong` names."""
    return sorted(f"{path.relative_to(PACKAGE.parent)}:{line}: {written}"
                  for path in paths
                  for line, written, modules in _imports(path)
                  if any(wrong(path, module) for module in modules))


def _area(module: str) -> str | None:
    """The top-level area of one of our modules (`ehcp_monitor.db.bulk` -> `db`), else None."""
    parts = module.split(".")
    if parts[0] != "ehcp_monitor" or len(parts) < 2:
        return None
    return parts[1]


def _sources(area: str | None = None) -> list[Path]:
    if area is None:
        return sorted(PACKAGE.rglob("*.py"))
    directory = PACKAGE / area
    if directory.is_dir():
        return sorted(directory.rglob("*.py"))
    single = PACKAGE / f"{area}.py"
    return [single] if single.exists() else []


def test_the_areas_named_here_exist():
    for area in FEATURES + SHARED:
        assert _sources(area), f"ehcp_monitor/{area} is named by this test but does not exist"


def test_every_module_has_its_layer():
    areas = {path.relative_to(PACKAGE).with_suffix("").parts[0] for path in _sources()}
    unplaced = sorted(areas - set(FEATURES + SHARED + ABOVE))
    assert not unplaced, f"ehcp_monitor/ areas with no layer (name them in FEATURES, SHARED or ABOVE): {unplaced}"


def _area_of(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def test_domain_imports_nothing_of_ours():
    bad = _violations(_sources("domain"),
                      lambda path, module: module.split(".")[0] == "ehcp_monitor" and _area(module) != "domain")
    assert not bad, "ehcp_monitor/domain/ must import nothing of ours:\n" + "\n".join(bad)


def test_no_feature_imports_another():
    paths = [path for feature in FEATURES for path in _sources(feature)]
    bad = _violations(paths, lambda path, module: _area(module) in FEATURES and _area(module) != _area_of(path))
    assert not bad, "a feature imports another feature:\n" + "\n".join(bad)


def test_shared_modules_import_no_feature():
    paths = [path for area in SHARED for path in _sources(area)]
    bad = _violations(paths, lambda path, module: _area(module) in FEATURES)
    assert not bad, "a shared module imports a feature:\n" + "\n".join(bad)


def test_the_package_imports_no_top_level_jobs():
    bad = _violations(_sources(), lambda path, module: module == "jobs" or module.startswith("jobs."))
    if bad and not (PACKAGE / "jobs").is_dir():
        pytest.xfail("the jobs are not yet installed as ehcp_monitor.jobs:\n" + "\n".join(bad))
    assert not bad, "the package imports a top-level `jobs` module:\n" + "\n".join(bad)

"""S3: no unscoped query on a district-owned model in a portal view module (an AST check).

Portal views must read through ``naviance_sync.scoping`` (``for_district`` /
``get_for_district_or_404``) or a selector that does. This test parses every portal view module and
fails on ``Model.objects.<get|filter|all|exclude|...>(`` or ``get_object_or_404(Model, ...)`` where
``Model`` belongs to a district (directly, or through a foreign key to a district-owned model,
e.g. ``RunResult.run``). Exceptions are listed in ``ALLOWED`` with the reason; a stale exception
fails too, so the list stays honest.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[2]
PORTAL_VIEW_GLOBS = (
    "integrations/views*.py",
    "integrations/sso/views.py",
    "students/views.py",
    "staff/views.py",
    "naviance_sync/views*.py",
)
QUERY_METHODS = frozenset(
    {
        "get",
        "filter",
        "all",
        "exclude",
        "get_or_create",
        "update_or_create",
        "first",
        "last",
        "values",
        "values_list",
        "in_bulk",
        "iterator",
        "count",
        "exists",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "order_by",
        "annotate",
        "aggregate",
        "raw",
        "update",
        "delete",
    }
)
MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
# A queryset handed to these as their first argument is scoped by them.
SCOPING_CALLS = frozenset({"for_district", "get_for_district_or_404"})

# (module, enclosing function, model) -> why it is safe.
ALLOWED: dict[tuple[str, str, str], str] = {}


def district_owned(model: type[models.Model]) -> bool:
    """Owned by a district: a ``district`` field, a ``district_path``, or a foreign key to a model
    that has one (its rows are reachable from a district, e.g. a run's results)."""
    names = {f.name for f in model._meta.get_fields()}
    if "district" in names or getattr(model, "district_path", None):
        return True
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is not None and f.related_model is not model:
            target = f.related_model
            if "district" in {g.name for g in target._meta.get_fields()}:
                return True
    return False


def portal_modules() -> list[Path]:
    out: list[Path] = []
    for pattern in PORTAL_VIEW_GLOBS:
        out.extend(sorted(ROOT.glob(pattern)))
    return out


class Finder(ast.NodeVisitor):
    def __init__(self, module_name: str, namespace: dict) -> None:
        self.module_name = module_name
        self.namespace = namespace
        self.function = "<module>"
        self.findings: list[tuple[str, str, str, int, str]] = []
        self.scoped: set[int] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def _model(self, node: ast.AST) -> type[models.Model] | None:
        if isinstance(node, ast.Name):
            value = self.namespace.get(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            value = getattr(self.namespace.get(node.value.id), node.attr, None)
        else:
            return None
        if isinstance(value, type) and issubclass(value, models.Model):
            return value
        return None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in SCOPING_CALLS and node.args:
            self.scoped.update(id(n) for n in ast.walk(node.args[0]) if isinstance(n, ast.Call))
        if id(node) in self.scoped:
            self.generic_visit(node)
            return
        # Model.objects.filter(...)
        if (
            isinstance(func, ast.Attribute)
            and func.attr in QUERY_METHODS
            and isinstance(func.value, ast.Attribute)
            and func.value.attr in MANAGERS
        ):
            model = self._model(func.value.value)
            if model is not None and district_owned(model):
                self._found(model, node, f"{model.__name__}.{func.value.attr}.{func.attr}(")
        # get_object_or_404(Model, ...) / get_list_or_404(Model, ...)
        if name in ("get_object_or_404", "get_list_or_404") and node.args:
            model = self._model(node.args[0])
            if model is not None and district_owned(model):
                self._found(model, node, f"{name}({model.__name__}, ...)")
        self.generic_visit(node)

    def _found(self, model, node, text) -> None:
        self.findings.append((self.module_name, self.function, model.__name__, node.lineno, text))


def findings() -> list[tuple[str, str, str, int, str]]:
    out = []
    for path in portal_modules():
        module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = importlib.import_module(module_name)
        finder = Finder(module_name, vars(module))
        finder.visit(ast.parse(path.read_text(), filename=str(path)))
        out.extend(finder.findings)
    return out


def test_portal_views_only_query_through_the_district_scope():
    found = findings()
    unexplained = [f for f in found if (f[0], f[1], f[2]) not in ALLOWED]
    assert not unexplained, "unscoped queries in portal views:\n" + "\n".join(
        f"{m}:{line} in {fn}(): {text}" for m, fn, _, line, text in unexplained
    )
    used = {(f[0], f[1], f[2]) for f in found}
    assert set(ALLOWED) <= used, f"stale ALLOWED entries: {set(ALLOWED) - used}"


def test_the_lint_sees_every_portal_module_and_catches_a_planted_query():
    modules = [p.relative_to(ROOT).as_posix() for p in portal_modules()]
    assert "integrations/views_runs.py" in modules and "students/views.py" in modules
    assert "naviance_sync/views_audit.py" in modules
    from integrations.models import ImportRun, RunResult
    from students.models import Student

    assert district_owned(Student) and district_owned(ImportRun) and district_owned(RunResult)
    planted = (
        "def view(request, run_id):\n"
        "    a = ImportRun.objects.get(pk=run_id)\n"
        "    b = get_object_or_404(Student, pk=1)\n"
        "    c = for_district(ImportRun, request.district).get(pk=run_id)\n"
        "    d = RunResult.objects.filter(run=a)\n"
        "    e = get_for_district_or_404(Student.objects.only('pk'), request.district, pk=1)\n"
    )
    finder = Finder(
        "planted",
        {"ImportRun": ImportRun, "Student": Student, "RunResult": RunResult},
    )
    finder.visit(ast.parse(planted))
    assert [f[3] for f in finder.findings] == [2, 3, 5]
    assert apps.get_model("students", "Student") is Student

"""Test cells rewritten so that the student's kernel only computes values.

A graded test cell calls checks (:mod:`course.checks`)::

    check_array("heaviside(z)", heaviside(_z), (_z >= 0).astype(float), context=...)

Every such call is a *check site*, numbered in the order it appears in the
cell. Before a cell runs the grader makes two versions of it:

- :func:`student_form`, for the student's kernel: each call becomes
  ``__course_record__(<site>, heaviside(_z))``. Only the student's value is
  computed; the name, the expected value, the tolerances and the message are
  gone, and so is every function the test defines only to compute expected
  values (a reference implementation, say).
- :func:`reference_form`, for the clean kernel that runs the solution:
  ``__course_reference__(<site>, "check_array", <every argument>)``, which
  records the expected value and how to compare (:mod:`course.grader.references`).

A site in a loop runs several times; its runs are matched in order.

:func:`lint` finds what would still compute an expected value in the
student's kernel (a variable assigned in the test and used only in expected
values; a ``check_true`` in a hidden test, whose condition compares in the
kernel) and checks that calls have the shape the rewriting expects. The test
suite runs it on every assignment.
"""

import ast
import hashlib

from course.checks import SIGNATURES, STUDENT_VALUE

RECORD = "__course_record__"
REFERENCE = "__course_reference__"
STUDENT_PRELUDE = f"from course.checks import record as {RECORD}\n"
REFERENCE_PRELUDE = (f"from course.checks import reference as {REFERENCE}\n"
                     "from course import references\n")
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def is_test_cell(cell):
    """A graded code cell that is not an answer: a test (nbgrader's metadata)."""
    info = cell.get("metadata", {}).get("nbgrader", {})
    return (cell.get("cell_type") == "code" and bool(info.get("grade"))
            and not info.get("solution"))


class SiteError(ValueError):
    """A test cell the grader cannot rewrite (a bug in the assignment)."""


def fingerprint(source):
    """A short hash of a test cell's source, to match it with its reference."""
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()[:16]


def _parse(source):
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise SiteError(f"the test cell is not valid Python: {exc}") from None


def _check_calls(tree):
    """The check calls of ``tree`` in source order: [(call, function name)]."""
    calls = [(node, node.func.id) for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
             and node.func.id in SIGNATURES]
    return sorted(calls, key=lambda item: (item[0].lineno, item[0].col_offset))


def _student_value(call, function):
    """The argument of ``call`` that is the student's value."""
    params = SIGNATURES[function][1]
    wanted = STUDENT_VALUE[function]
    position = params.index(wanted)
    if any(isinstance(arg, ast.Starred) for arg in call.args) or any(
            kw.arg is None for kw in call.keywords):
        raise SiteError(f"line {call.lineno}: {function} called with * or ** arguments")
    if len(call.args) > position:
        return call.args[position]
    for kw in call.keywords:
        if kw.arg == wanted:
            return kw.value
    raise SiteError(f"line {call.lineno}: {function} called without its {wanted!r}")


def count_sites(source):
    """How many check sites a test cell has."""
    return len(_check_calls(_parse(source)))


class _Replace(ast.NodeTransformer):
    def __init__(self, replacements):
        self.replacements = replacements  # id(call) -> new node

    def visit_Call(self, node):
        new = self.replacements.get(id(node))
        if new is not None:
            return ast.copy_location(new, node)
        return self.generic_visit(node)


def _rewrite(source, make):
    tree = _parse(source)
    replacements = {id(call): make(site, call, function)
                    for site, (call, function) in enumerate(_check_calls(tree))}
    tree = ast.fix_missing_locations(_Replace(replacements).visit(tree))
    return tree


def _student_tree(source):
    def make(site, call, function):
        return ast.Call(func=ast.Name(RECORD, ast.Load()),
                        args=[ast.Constant(site), _student_value(call, function)],
                        keywords=[])

    tree = _rewrite(source, make)
    _drop_unused(tree)
    return tree


def student_form(source):
    """The test cell as the student's kernel runs it (see the module docstring)."""
    if not count_sites(source):
        return source
    return STUDENT_PRELUDE + ast.unparse(_student_tree(source))


def reference_form(source):
    """The test cell as the clean kernel running the solution runs it."""
    if not count_sites(source):
        return source

    def make(site, call, function):
        return ast.Call(func=ast.Name(REFERENCE, ast.Load()),
                        args=[ast.Constant(site), ast.Constant(function), *call.args],
                        keywords=call.keywords)

    return REFERENCE_PRELUDE + ast.unparse(_rewrite(source, make))


def _loaded_names(nodes):
    """Names read in ``nodes`` (``x += 1`` reads x too)."""
    return {node.id for root in nodes for node in ast.walk(root)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} | {
        node.target.id for root in nodes for node in ast.walk(root)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)}


def _drop_unused(tree):
    """Remove what nothing left in the cell uses: expected values and their helpers.

    What a test computes only for expected values (a reference implementation,
    an expected array) must not reach the student's kernel. Removed: function
    and class definitions without decorators whose name nothing else uses,
    imports nothing else uses (``from course import references`` for
    expected values), and assignments whose targets nothing else uses, unless the right-hand
    side draws random numbers (removing it would change the inputs that
    follow; :func:`lint` reports those).
    """
    while True:
        unused = [(parent, stmt) for parent in _bodies(tree) for stmt in parent.body
                  if _removable(stmt) and not _bound_names(stmt) & _loaded_outside(tree, stmt)]
        if not unused:
            return
        for parent, stmt in unused:
            parent.body.remove(stmt)
            if not parent.body:
                parent.body.append(ast.Pass())


def _bodies(tree):
    return [node for node in ast.walk(tree)
            if isinstance(getattr(node, "body", None), list)]


def _removable(stmt):
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return all(alias.name != "*" for alias in stmt.names)
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return not stmt.decorator_list
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        plain = all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Starred))
                    for t in targets for n in ast.walk(t)
                    if not isinstance(n, (ast.Load, ast.Store)))
        return plain and not _draws_random(stmt.value)
    return False


def _draws_random(node):
    """Whether an expression may draw from a random generator."""
    for n in ast.walk(node):
        name = n.id if isinstance(n, ast.Name) else (
            n.attr if isinstance(n, ast.Attribute) else "")
        if "rng" in name or "random" in name or name == "seed":
            return True
    return False


def _bound_names(stmt):
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in stmt.names}
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _loaded_outside(tree, stmt):
    inner = {id(n) for n in ast.walk(stmt)}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        inner = {id(n) for t in (stmt.targets if isinstance(stmt, ast.Assign)
                                 else [stmt.target]) for n in ast.walk(t)}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Load) and id(n) not in inner}
    # `x += 1` reads x too.
    return loaded | {n.target.id for n in ast.walk(tree) if isinstance(n, ast.AugAssign)
                     and isinstance(n.target, ast.Name) and n is not stmt}


def _inside(node, root):
    return any(child is node for child in ast.walk(root))


def _stored_names(tree):
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.setdefault(node.id, node.lineno)
    return names


def marked_lines(source, begin=BEGIN_HIDDEN, end=END_HIDDEN):
    """[(line number from 1, line)] of ``source`` between the markers."""
    found, inside = [], False
    for number, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            found.append((number, line))
    return found


def _hidden_lines(source):
    return {number for number, _ in marked_lines(source)}


def lint(source):
    """Problems that would leave an expected value in the student's kernel."""
    problems = []
    try:
        tree = _parse(source)
        calls = _check_calls(tree)
        student = _student_tree(source)
    except SiteError as exc:
        return [str(exc)]
    hidden = _hidden_lines(source)
    for call, function in calls:
        if function == "check_true" and call.lineno in hidden:
            problems.append(
                f"line {call.lineno}: check_true in a hidden test computes its verdict "
                "in the student's kernel; compare a value instead (check_equal, "
                "check_array, check_at_least ...)")
    used_by_student = _loaded_names([student])
    used_at_all = _loaded_names([tree])
    assigned = {}
    for node in ast.walk(student):
        # Random draws are inputs, and must stay to keep the generator in step.
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not (
                node.value is not None and _draws_random(node.value)):
            for name, line in _stored_names(node).items():
                assigned.setdefault(name, line)
    for name, line in assigned.items():
        if line in hidden and name in used_at_all and name not in used_by_student:
            problems.append(
                f"line {line}: {name} is assigned in the test but used only in expected "
                "values, so the student's kernel would compute it; write the "
                "expression inside the check call instead")
    return problems

"""Correct submissions whose every answer function also emits a warning.

nbgrader alone scores a test cell 0 when anything reaches stderr; the
course's grader scores a test cell by its checks alone (``DecideChecks``).
These submissions prove it: each is the reference solution with one
statement that warns put first in every answer function (a plain
``warnings.warn``, a real numpy overflow, a real torch ``UserWarning``; in ps5
also scikit-learn's own ``ConvergenceWarning``, no longer silenced). They are
graded with the honest ones in ``tests/pipeline.py``.
"""

import ast

# What each assignment's warning submission puts first in every function.
WARNINGS = {
    "ps1_perceptron": ("import warnings",
                       'warnings.warn("{name} warns but is right", RuntimeWarning)',
                       "{name} warns but is right"),
    "ps2_forward_pass": ("", "np.exp(np.float64(1000.0))",
                         "overflow encountered in exp"),
    "ps3_backprop": ("import torch",
                     "torch.tensor(torch.ones(1))",
                     "To copy construct from a tensor"),
    "ps4_convolution": ("import warnings",
                        'warnings.warn("{name} warns but is right", UserWarning)',
                        "{name} warns but is right"),
    "ps5_mnist": ("import warnings",
                  'warnings.warn("{name} warns but is right", ConvergenceWarning)',
                  "{name} warns but is right"),
}
def with_warnings(source, imports, statement):
    """``source`` with ``statement`` as the first statement of every function.

    A docstring stays first; ``{name}`` in ``statement`` is the function's name.
    """
    tree = ast.parse(source)
    lines = source.split("\n")
    inserts = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            docstring = (isinstance(body[0], ast.Expr)
                         and isinstance(body[0].value, ast.Constant)
                         and isinstance(body[0].value.value, str))
            if docstring and len(body) == 1:
                at, indent = body[0].end_lineno, body[0].col_offset
            else:
                first = body[1] if docstring else body[0]
                at, indent = first.lineno - 1, first.col_offset
            inserts.append((at, " " * indent + statement.format(name=node.name)))
    for at, line in sorted(inserts, reverse=True):
        lines.insert(at, line)
    changed = "\n".join(([imports] if imports else []) + lines)
    compile(changed, "<answer>", "exec")
    return changed, len(inserts)


def ps5_with_convergence_warning(answers):
    """ps5's answers with scikit-learn's ConvergenceWarning no longer silenced."""
    source = answers["train_sklearn"]
    assert "simplefilter(\"ignore\", ConvergenceWarning)" in source, source
    lines = []
    for line in source.split("\n"):
        if "catch_warnings()" in line:
            line = line.replace("with warnings.catch_warnings():", "if True:")
        elif "simplefilter(\"ignore\", ConvergenceWarning)" in line:
            continue
        lines.append(line)
    return {**answers, "train_sklearn": "\n".join(lines)}


def warning_answers(name, answers):
    """Every answer function of ``name`` emits a warning first, else unchanged.

    ps5 also lets scikit-learn's own ConvergenceWarning through.
    """
    if name == "ps5_mnist":
        answers = ps5_with_convergence_warning(answers)
    imports, statement, _ = WARNINGS[name]
    changed, functions = {}, 0
    for grade_id, source in answers.items():
        try:
            changed[grade_id], count = with_warnings(source, imports, statement)
        except SyntaxError:  # a written answer (markdown)
            changed[grade_id], count = source, 0
        functions += count
    assert functions, f"no answer functions found in {name}"
    return changed


def expected_warnings(name, answers):
    """Texts of the warnings these answers emit."""
    extra = ["Maximum iterations (10) reached"] if name == "ps5_mnist" else []
    _, _, text = WARNINGS[name]
    names = {node.name for source in answers.values() if _is_python(source)
             for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.FunctionDef)}
    if "{name}" in text:
        return [text.format(name=n) for n in sorted(names)] + extra
    return [text] + extra


def _is_python(source):
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True

"""Mutants of answer code: the slips an honest student makes, made on purpose.

``mutants(grade_id, answer, regions)`` returns one :class:`Mutant` per small
change to the student's part of an answer cell (the lines between the
solution markers, inside a ``def`` or ``class``). Each change is an edit of
the source text at a span that Python's ``ast`` gives (the position model of
cosmic-ray's operators), so the rest of the cell, comments included, stays as
written and the diff shows just the slip.

The operators. The first eight are the classic catalogue of cosmic-ray and
mutmut; the rest are the array and training slips of this course:

============ ==============================================================
operator     what it changes
============ ==============================================================
operator     an arithmetic operator: ``+``/``-``, ``*``/``/``, ``//``->``/``,
             ``**``->``*``, ``@``->``*``, ``%``->``//``
comparison   ``<``/``<=``, ``>``/``>=``, ``==``/``!=``, ``is``/``is not``,
             ``in``/``not in``
boolean      ``and``/``or``, ``True``/``False``, ``not x``->``x``
unary        ``-x``->``x``
number       an integer constant +1 and -1, a float constant +1
loop         a loop runs once (``break`` at the end of its body), a ``for``
             loop runs zero times, ``break``/``continue`` swapped
keyword      a keyword argument dropped (``dtype=``, ``keepdims=``, ...)
arguments    two neighbouring positional arguments swapped
axis         an integer ``axis=`` one more or one less
transpose    a ``.T`` or ``transpose()`` dropped; ``A @ B``->``A.T @ B``,
             ``A @ B.T``
term         a term or factor dropped: ``a + b``->``a`` or ``b``,
             ``a * b``->``a`` or ``b``, ``a - b``->``a``, ``a / b``->``a``
slice        a slice bound shifted by one, a slice step dropped
inplace      a copy turned into an update of the same array: ``t = t + e``
             ->``t += e``, ``.copy()`` or ``np.copy`` dropped,
             ``np.array``->``np.asarray``
statement    an update or a call statement left out (``v += g``,
             ``errors.append(n)``, ``optimizer.zero_grad()``)
return       the function returns early: after the first pass of a loop, or
             before its last step
parameter    a parameter with a default ignored (the default used instead)
function     ``max``/``min``, ``maximum``/``minimum``, ``argmax``/``argmin``,
             ``sum``/``mean``, ``zeros``/``ones``
============ ==============================================================

Code that does not compute results is left alone: docstrings, strings,
``raise`` and ``assert`` statements, ``print`` and ``warnings.warn`` calls;
so are seeds, and every line marked ``# pragma: no mutate`` (mutmut's
convention): the solution's free choices that the assignment leaves to the
student, such as a hyperparameter the text asks for "about" (the marker is
in the solution part, which the release does not contain).
"""

import ast
import difflib
import re
from dataclasses import dataclass

OPERATORS = ("operator", "comparison", "boolean", "unary", "number", "loop",
             "keyword", "arguments", "axis", "transpose", "term", "slice",
             "inplace", "statement", "return", "parameter", "function")

BINARY_SWAPS = {ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*",
                ast.FloorDiv: "/", ast.Pow: "*", ast.MatMult: "*", ast.Mod: "//"}
BINARY_TOKENS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
                 ast.FloorDiv: "//", ast.Pow: "**", ast.MatMult: "@", ast.Mod: "%"}
COMPARE_SWAPS = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="),
                 ast.GtE: (">=", ">"), ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="),
                 ast.Is: ("is", "is not"), ast.IsNot: ("is not", "is"),
                 ast.In: ("in", "not in"), ast.NotIn: ("not in", "in")}
FUNCTION_SWAPS = {"max": "min", "min": "max", "maximum": "minimum", "minimum": "maximum",
                  "argmax": "argmin", "argmin": "argmax", "sum": "mean", "mean": "sum",
                  "zeros": "ones", "ones": "zeros", "amax": "amin", "amin": "amax"}
QUIET_CALLS = {"print", "warn", "display"}  # calls that do not compute results
# Seeds are not mutated: another seed is another sample of a correct answer, not
# a bug (where a contract fixes a default seed, its tests say so by themselves).
SEED_KEYWORDS = {"random_state", "seed"}
NO_MUTATE = "pragma: no mutate"
SEED_CALLS = {"default_rng", "manual_seed", "RandomState", "seed"}
COMPOUND = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.UnaryOp, ast.Lambda,
            ast.NamedExpr)


@dataclass(frozen=True)
class Mutant:
    """One changed answer cell."""

    grade_id: str
    function: str   # the def or class the change is in
    operator: str   # one of OPERATORS
    line: int       # 1-based line of the answer where the change starts
    before: str     # the changed line(s) of the answer, stripped
    after: str      # the same line(s) in the mutant, stripped
    source: str     # the whole mutated answer cell

    def diff(self, answer):
        """A unified diff of ``answer`` (the original cell) against the mutant."""
        return "".join(difflib.unified_diff(
            answer.splitlines(keepends=True), self.source.splitlines(keepends=True),
            fromfile=f"{self.grade_id} (solution)", tofile=f"{self.grade_id} (mutant)",
            n=1))


def mutants(grade_id, answer, regions):
    """Every distinct mutant of ``answer`` that still parses, in source order.

    ``regions``: (first, last) 1-based line ranges of the student's part
    (:func:`course.grader.answers.answer_cells`); nothing else is changed.
    """
    try:
        tree = ast.parse(answer)
    except SyntaxError:
        return []
    text = _Text(answer)
    kept = {i for i, line in enumerate(text.lines, 1) if NO_MUTATE in line}
    found, seen = [], {answer}
    for function, node, parent in _walk(tree, regions):
        for operator, edits in _edits(node, parent, text, function):
            if not _within(edits, regions) or any(
                    line in kept for start, end, _ in edits
                    for line in range(start[0], end[0] + 1)):
                continue
            source = text.apply(edits)
            if source in seen:
                continue
            try:
                ast.parse(source)
            except SyntaxError:
                continue
            seen.add(source)
            line = min(start[0] for start, _, _ in edits)
            before, after = _changed_lines(answer, source)
            found.append(Mutant(grade_id, function, operator, line, before, after, source))
    return found


# ---------------------------------------------------------------------------
# source text and edits


class _Text:
    """The answer's text, addressed as ast does: (line, byte column)."""

    def __init__(self, answer):
        self.data = answer.encode("utf-8")
        self.starts = [0]
        for i, byte in enumerate(self.data):
            if byte == ord("\n"):
                self.starts.append(i + 1)
        self.lines = answer.split("\n")

    def offset(self, position):
        line, col = position
        return self.starts[line - 1] + col

    def segment(self, node):
        return self.between((node.lineno, node.col_offset),
                            (node.end_lineno, node.end_col_offset))

    def between(self, start, end):
        return self.data[self.offset(start):self.offset(end)].decode("utf-8")

    def indent(self, line):
        text = self.lines[line - 1]
        return text[: len(text) - len(text.lstrip())]

    def apply(self, edits):
        """The text with ``edits`` [(start, end, new text)] made (no overlaps)."""
        data = self.data
        for start, end, new in sorted(edits, key=lambda e: self.offset(e[0]), reverse=True):
            data = data[:self.offset(start)] + new.encode("utf-8") + data[self.offset(end):]
        return data.decode("utf-8")


def _start(node):
    return (node.lineno, node.col_offset)


def _end(node):
    return (node.end_lineno, node.end_col_offset)


def _replace(node, new):
    return [(_start(node), _end(node), new)]


def _insert_line(line, indent, statement):
    """Insert ``statement`` as a new line before ``line``."""
    return [((line, 0), (line, 0), f"{indent}{statement}\n")]


def _insert_after(node, text, statement):
    """Insert ``statement`` as a new line after the last line of ``node``."""
    indent = text.indent(node.lineno)
    if node.end_lineno < len(text.lines):
        return _insert_line(node.end_lineno + 1, indent, statement)
    end = (node.end_lineno, len(text.lines[-1].encode("utf-8")))
    return [(end, end, f"\n{indent}{statement}")]


def _wrapped(node, text):
    """The node's source, in parentheses where it is a compound expression."""
    source = text.segment(node)
    return f"({source})" if isinstance(node, COMPOUND) else source


def _changed_lines(answer, source):
    old, new = answer.split("\n"), source.split("\n")
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    before, after = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            before += [line.strip() for line in old[i1:i2]]
            after += [line.strip() for line in new[j1:j2]]
    return " / ".join(before), " / ".join(after)


# ---------------------------------------------------------------------------
# which nodes are mutated


def _walk(tree, regions):
    """(name of the def or class, node, parent) for each node worth mutating.

    Nodes inside the student's part, and the ``def`` statements whose body
    reaches into it (for the operators that insert a line into a body).
    """
    def inside(node):
        return any(first <= node.lineno and node.end_lineno <= last
                   for first, last in regions)

    def reaches(node):
        return any(node.lineno <= last and first <= node.end_lineno
                   for first, last in regions)

    def skip(node):
        if isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr)):
            return True
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            return True  # a docstring
        if isinstance(node, ast.Expr):
            node = node.value
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            return name in QUIET_CALLS
        return False

    def visit(node, parent, owner):
        if skip(node):
            return
        if isinstance(node, ast.ClassDef) and owner is None:
            owner = node.name
        elif isinstance(node, ast.FunctionDef) and (owner is None or "." not in owner):
            owner = node.name if owner is None else f"{owner}.{node.name}"
        if owner is not None and hasattr(node, "lineno") and (
                inside(node) or (isinstance(node, ast.FunctionDef) and reaches(node))):
            yield owner, node, parent
        for child in ast.iter_child_nodes(node):
            yield from visit(child, node, owner)

    yield from visit(tree, None, None)


def _within(edits, regions):
    """Every edit starts in the student's part (an inserted line: or just after it)."""
    return all(any(first <= start[0] <= last + (start == end and start[1] == 0)
                   for first, last in regions)
               for start, end, _ in edits)


def _edits(node, parent, text, function):
    """(operator, edits) for each mutant of one node."""
    for operator in OPERATORS:
        for edits in globals()[f"_{operator}"](node, parent, text, function):
            yield operator, edits


def _token_between(text, left, right, pattern, old):
    """The edit span of operator token ``old`` between nodes ``left`` and ``right``."""
    gap = text.between(_end(left), _start(right))
    for match in re.finditer(pattern, gap):
        if match.group(0).split() == old.split():
            base = text.offset(_end(left))
            return base + len(gap[:match.start()].encode()), base + len(
                gap[:match.end()].encode())
    return None


def _span_edit(text, span, new):
    """An edit given as absolute byte offsets, turned into (line, col) positions."""
    def position(offset):
        line = max(i for i, start in enumerate(text.starts) if start <= offset)
        return (line + 1, offset - text.starts[line])
    return [(position(span[0]), position(span[1]), new)]


# ---------------------------------------------------------------------------
# the operators: each yields lists of edits


def _operator(node, parent, text, function):
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY_SWAPS:
        span = _token_between(text, node.left, node.right,
                              r"\*\*|//|[-+*/%@]", BINARY_TOKENS[type(node.op)])
        if span:
            yield _span_edit(text, span, BINARY_SWAPS[type(node.op)])


def _comparison(node, parent, text, function):
    if isinstance(node, ast.Compare):
        operands = [node.left] + node.comparators
        for op, left, right in zip(node.ops, operands, operands[1:]):
            old, new = COMPARE_SWAPS[type(op)]
            span = _token_between(text, left, right,
                                  r"==|!=|<=|>=|<|>|\bis\s+not\b|\bnot\s+in\b|\bis\b|\bin\b",
                                  old)
            if span:
                yield _span_edit(text, span, new)


def _boolean(node, parent, text, function):
    if isinstance(node, ast.BoolOp):
        old = "and" if isinstance(node.op, ast.And) else "or"
        for left, right in zip(node.values, node.values[1:]):
            span = _token_between(text, left, right, r"\band\b|\bor\b", old)
            if span:
                yield _span_edit(text, span, "or" if old == "and" else "and")
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield _replace(node, str(not node.value))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _replace(node, _wrapped(node.operand, text))


def _unary(node, parent, text, function):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield _replace(node, _wrapped(node.operand, text))


def _number(node, parent, text, function):
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return
    if isinstance(parent, ast.keyword) and parent.arg == "axis":
        return  # the axis operator's
    if _is_seed(node, parent):
        return
    if isinstance(node.value, int):
        yield _replace(node, repr(node.value + 1))
        yield _replace(node, repr(node.value - 1))
    elif isinstance(node.value, float):
        yield _replace(node, repr(node.value + 1.0))


def _is_seed(node, parent):
    """Whether constant ``node`` is a seed: ``random_state=0``, ``default_rng(0)``."""
    if isinstance(parent, ast.keyword):
        return parent.arg in SEED_KEYWORDS
    if isinstance(parent, ast.Call) and node in parent.args:
        func = parent.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name in SEED_CALLS
    return False


def _loop(node, parent, text, function):
    if isinstance(node, (ast.For, ast.While)) and node.body:
        yield _insert_after(node.body[-1], text, "break")
        if isinstance(node, ast.For):
            yield _replace(node.iter, "[]")
    elif isinstance(node, ast.Break):
        yield _replace(node, "continue")
    elif isinstance(node, ast.Continue):
        yield _replace(node, "break")


def _keyword(node, parent, text, function):
    if not isinstance(node, ast.Call):
        return
    previous = node.args[-1] if node.args else None
    for keyword in node.keywords:
        if keyword.arg is None or keyword.arg in SEED_KEYWORDS:
            previous = keyword
            continue
        if previous is not None:  # drop ", name=value"
            yield [(_end(previous), _end(keyword), "")]
        else:  # the first argument: drop "name=value, " up to the next one
            rest = [k for k in node.keywords if k is not keyword]
            end = _start(rest[0]) if rest else _end(keyword)
            yield [(_start(keyword), end, "")]
        previous = keyword


def _arguments(node, parent, text, function):
    if not isinstance(node, ast.Call):
        return
    args = node.args
    for left, right in zip(args, args[1:]):
        if isinstance(left, ast.Starred) or isinstance(right, ast.Starred):
            continue
        a, b = text.segment(left), text.segment(right)
        if a != b:
            yield [(_start(left), _end(left), b), (_start(right), _end(right), a)]


def _axis(node, parent, text, function):
    if (isinstance(node, ast.keyword) and node.arg == "axis"
            and isinstance(node.value, ast.Constant) and type(node.value.value) is int):
        for new in (node.value.value + 1, node.value.value - 1):
            yield _replace(node.value, repr(new))
    if (isinstance(node, ast.keyword) and node.arg == "axis"
            and isinstance(node.value, ast.UnaryOp) and isinstance(node.value.op, ast.USub)
            and isinstance(node.value.operand, ast.Constant)):
        yield _replace(node.value, "0")


def _transpose(node, parent, text, function):
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield _replace(node, _wrapped(node.value, text))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "transpose":
        if isinstance(node.func.value, ast.Name) and node.func.value.id in ("np", "numpy"):
            if node.args:
                yield _replace(node, _wrapped(node.args[0], text))
        else:
            yield _replace(node, _wrapped(node.func.value, text))
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        for side in (node.left, node.right):
            yield _replace(side, f"{_wrapped(side, text)}.T")


def _term(node, parent, text, function):
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                            ast.Div)):
        yield _replace(node, _wrapped(node.left, text))
        if isinstance(node.op, (ast.Add, ast.Mult)):
            yield _replace(node, _wrapped(node.right, text))


def _slice(node, parent, text, function):
    if not isinstance(node, ast.Slice):
        return

    def part(bound, shift):
        if bound is None:
            return "1" if shift > 0 else None
        return f"{_wrapped(bound, text)} {'+' if shift > 0 else '-'} 1"

    def build(lower, upper, step):
        out = f"{lower or ''}:{upper or ''}"
        return out + (f":{step}" if step else "")

    lower = text.segment(node.lower) if node.lower else None
    upper = text.segment(node.upper) if node.upper else None
    step = text.segment(node.step) if node.step else None
    if node.lower is not None or node.upper is not None:
        yield _replace(node, build(part(node.lower, 1), upper, step))
    if node.upper is not None:
        yield _replace(node, build(lower, part(node.upper, 1), step))
        yield _replace(node, build(lower, part(node.upper, -1), step))
    if node.step is not None:
        yield _replace(node, build(lower, upper, None))


def _inplace(node, parent, text, function):
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.BinOp)
            and isinstance(node.value.left, ast.Name)
            and node.value.left.id == node.targets[0].id
            and type(node.value.op) in BINARY_TOKENS):
        token = BINARY_TOKENS[type(node.value.op)]
        yield _replace(node, f"{node.targets[0].id} {token}= "
                             f"{_wrapped(node.value.right, text)}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        numpy = isinstance(receiver, ast.Name) and receiver.id in ("np", "numpy")
        if node.func.attr == "copy" and not numpy and not node.args:
            yield _replace(node, _wrapped(receiver, text))
        elif node.func.attr == "copy" and numpy and node.args:
            yield _replace(node, _wrapped(node.args[0], text))
        elif node.func.attr == "array" and numpy:
            yield _replace(node.func, f"{receiver.id}.asarray")


def _statement(node, parent, text, function):
    if isinstance(node, ast.AugAssign) or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        yield _replace(node, "pass")


def _return(node, parent, text, function):
    if not isinstance(node, ast.FunctionDef) or not node.body:
        return
    last = node.body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        return
    statement = f"return {text.segment(last.value)}"
    body = [s for s in node.body[:-1]
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if body:
        yield _insert_line(body[-1].lineno, text.indent(body[-1].lineno), statement)
    for child in body:
        if isinstance(child, (ast.For, ast.While)) and child.body:
            yield _insert_after(child.body[-1], text, statement)


def _parameter(node, parent, text, function):
    if not isinstance(node, ast.FunctionDef):
        return
    body = [s for s in node.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if not body:
        return
    args = node.args.args + node.args.kwonlyargs
    defaults = ([None] * (len(node.args.args) - len(node.args.defaults))
                + list(node.args.defaults) + list(node.args.kw_defaults))
    for arg, default in zip(args, defaults):
        if default is not None:
            line = body[0].lineno
            yield _insert_line(line, text.indent(line),
                               f"{arg.arg} = {text.segment(default)}")


def _function(node, parent, text, function):
    if isinstance(node, ast.Attribute) and node.attr in FUNCTION_SWAPS:
        yield _replace(node, f"{_wrapped(node.value, text)}.{FUNCTION_SWAPS[node.attr]}")
    elif isinstance(node, ast.Name) and node.id in ("max", "min", "sum") \
            and isinstance(parent, ast.Call) and parent.func is node:
        yield _replace(node, FUNCTION_SWAPS[node.id])

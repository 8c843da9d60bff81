"""A static scan of submissions for what deserves an instructor's look.

Runs in the grader, on the autograded notebook (``course grade`` calls
:func:`find_tampering` for every student and lists what it finds as *flagged
for review*, in the summary and in ``grade_report_<assignment>.csv``).
Nothing here decides a grade: the verdicts are the grader's
(:mod:`course.grader.verdicts`), made from values, so tampering with the
student's own kernel gains no points. A finding says "a person should look",
not "this is cheating": the rules also catch unusual honest code.

What is flagged, in the cells a student could edit:

- a code cell above the locked set-up cell; rebinding names the locked cells
  define or built-in names the tests use; assigning to attributes of numpy,
  torch, builtins, sys, course or IPython (``setattr`` too);
- frame, closure and code-object manipulation, dynamic code (``exec``,
  ``eval``, ``__import__``, ``importlib``), IPython's internals, reading
  notebooks or the gradebook, running programs, classes that answer
  comparisons themselves, strings that forge the grader's records;
- imports of the course's own implementations of what the assignments grade
  (:data:`ANSWER_MODULES`), and of libraries an assignment's answers may not
  use (``allowed``: the libraries an assignment lists in
  ``nbgrader_config.py``, ``CourseGrade.answer_libraries``).
"""

import ast
import builtins
import json
import re

# Modules of the course that implement what the assignments grade: an answer
# that imports one is copying, not answering. (The grading kernel of
# `course grade` cannot import them at all.)
ANSWER_MODULES = ("course.references", "course.nn", "course.activations",
                  "course.gradcheck", "course.models", "course.compare",
                  "course.grader", "course.autograde", "course.isolation")
# Libraries an answer may use unless an assignment lists its own.
DEFAULT_LIBRARIES = ("numpy", "math", "matplotlib", "itertools", "functools",
                     "collections", "time", "warnings", "typing", "dataclasses")
# Methods through which an object answers comparisons or conversions itself.
_LYING_METHODS = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
    "__float__", "__int__", "__index__", "__complex__", "__array__",
    "__array_ufunc__", "__array_function__", "__array_wrap__",
    "__array_interface__", "__array_struct__", "__torch_function__",
    "__instancecheck__", "__subclasscheck__",
})
# Built-in names a test cell relies on.
_CRITICAL_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "float", "int", "isinstance", "issubclass",
    "len", "list", "range", "repr", "set", "sorted", "str", "tuple", "type", "zip",
}) | {name for name, value in vars(builtins).items()
      if isinstance(value, type) and issubclass(value, BaseException)}
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def find_tampering(notebook_path, allowed=None):
    """What an instructor should look at in a graded notebook: a list of findings.

    ``allowed``: the top-level libraries the assignment's answers may use,
    a list for every answer cell, or a dict from answer cells' ``grade_id``
    to lists with ``"*"`` for the others (``None``: :data:`DEFAULT_LIBRARIES`).
    A cell also may not use a name the set-up cell bound to another library
    (``torch.`` in a from-scratch numpy answer). Each finding starts with where it
    was found (the cell's ``grade_id``, or ``cell <index>``), e.g.
    ``"perceptron_update line 4: assigns to numpy.allclose"``; identical
    findings are reported once. Raises ``OSError`` if the file cannot be read
    and ``ValueError`` if it is not a notebook.
    """
    with open(notebook_path, encoding="utf-8") as f:
        text = f.read()
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError:
        notebook = None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{notebook_path} is not a notebook")
    if not isinstance(allowed, dict):
        allowed = {"*": DEFAULT_LIBRARIES if allowed is None else allowed}
    allowed = {key: set(value) for key, value in allowed.items()}
    allowed.setdefault("*", set(DEFAULT_LIBRARIES))
    findings = _source_findings(notebook["cells"], allowed)
    seen, unique = set(), []
    for finding in findings:
        key = finding.split(": ", 1)[-1]
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _cell_label(cell, index):
    return _nbgrader(cell).get("grade_id") or f"cell {index}"


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value or "")


_ALLOWED_MAGICS = frozenset({"matplotlib", "time", "timeit", "precision", "pprint",
                             "who", "whos", "capture", "config_inline"})
_PROTECTED_MODULES = ("numpy", "torch", "builtins", "sys", "course", "IPython",
                      "ipykernel", "math", "random", "nbgrader", "sklearn", "scipy",
                      "operator", "functools", "types")
_SUSPICIOUS_ATTRIBUTES = {
    "_getframe": "inspects the call stack",
    "f_globals": "reaches into another frame's variables",
    "f_locals": "reaches into another frame's variables",
    "f_back": "walks the call stack",
    "f_builtins": "reaches into another frame's builtins",
    "currentframe": "inspects the call stack",
    "getouterframes": "inspects the call stack",
    "settrace": "installs a trace function",
    "setprofile": "installs a profile function",
    "addaudithook": "installs an audit hook",
    "__code__": "touches a function's code object",
    "__closure__": "touches a function's closure",
    "cell_contents": "touches a function's closure",
    "__globals__": "touches a function's globals",
    "__builtins__": "touches the builtins",
    "__subclasses__": "lists classes to patch them",
    "ast_transformers": "changes how IPython runs cells",
    "input_transformers_post": "changes how IPython runs cells",
    "input_transformers_cleanup": "changes how IPython runs cells",
    "input_transformer_manager": "changes how IPython runs cells",
    "showtraceback": "changes how errors are reported",
    "_showtraceback": "changes how errors are reported",
    "set_custom_exc": "changes how errors are reported",
    "custom_exceptions": "changes how errors are reported",
    "CustomTB": "changes how errors are reported",
    "InteractiveTB": "changes how errors are reported",
    "displayhook": "emits results that nbgrader reads as scores",
    "excepthook": "changes how errors are reported",
    "display_trap": "emits results that nbgrader reads as scores",
    "user_ns": "changes the notebook's namespace from outside",
    "user_global_ns": "changes the notebook's namespace from outside",
    "get_referrers": "searches the interpreter's objects",
    "get_referents": "searches the interpreter's objects",
    "get_objects": "searches the interpreter's objects",
    "get_ipython": "reaches into IPython",
}
_SUSPICIOUS_NAMES = {
    "In": "reads the notebook's input history (the running test cell)",
    "Out": "reads the notebook's output history",
    "_ih": "reads the notebook's input history (the running test cell)",
    "_oh": "reads the notebook's output history",
    "_i": "reads the notebook's input history", "_ii": "reads the notebook's input history",
    "_iii": "reads the notebook's input history",
    "exec": "runs code from a string", "eval": "runs code from a string",
    "compile": "compiles code from a string", "__import__": "imports dynamically",
    "globals": "writes notebook globals from inside a function",
    "vars": "reads or writes a namespace as a dict",
    "__builtins__": "touches the builtins", "__builtin__": "touches the builtins",
    "get_ipython": "reaches into IPython",
}
_SUSPICIOUS_IMPORTS = {
    "ctypes": "can rewrite memory", "sqlite3": "can read the gradebook",
    "importlib": "imports dynamically", "__main__": "reaches the notebook's module",
    "subprocess": "runs programs", "pty": "runs programs",
    "inspect": "inspects frames", "nbgrader": "uses nbgrader itself",
    "ipykernel": "reaches into the Jupyter kernel", "marshal": "loads code objects",
}
_SUSPICIOUS_STRINGS = (".ipynb", "gradebook", "hidden tests", "begin solution",
                       "nbgrader", "autograded", "solutions/", "vnd.ann-course",
                       "__course_record__")
_SHELL_CALLS = {"system", "popen", "spawnl", "spawnv", "spawnve", "spawnvp",
                "execv", "execve", "execl", "execvp", "posix_spawn", "posix_spawnp",
                "getoutput", "getstatusoutput"}


def _python_source(source):
    """A cell's source as Python (IPython magics and shell escapes translated)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:
        return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                         for line in source.splitlines())


def _source_findings(cells, allowed):
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    locked = [(i, c) for i, c in code if _nbgrader(c).get("locked")]
    editable = [(i, c) for i, c in code if not _nbgrader(c).get("locked")]
    trees = {}
    for i, cell in code:
        try:
            trees[i] = ast.parse(_python_source(_text(cell.get("source"))))
        except SyntaxError:
            trees[i] = None  # a cell that does not compile cannot run
    protected, imports, assigned = set(), set(), set()
    aliases = {}
    for i, _ in code:
        for alias, module in _module_aliases(trees[i]).items():
            aliases.setdefault(alias, module)
    for i, _ in locked:
        if trees[i] is None:
            continue
        for node in trees[i].body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    name = (a.asname or a.name).split(".")[0]
                    protected.add(name)
                    imports.add((getattr(node, "module", None), a.name, name))
            elif isinstance(node, _DEFINITIONS):
                protected.add(node.name)
        assigned |= {n.id for n in ast.walk(trees[i]) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store)}
    first_locked = locked[0][0] if locked else None
    found = []
    for i, cell in editable:
        if trees[i] is None or not trees[i].body:
            continue
        label = _cell_label(cell, i)
        if first_locked is not None and i < first_locked:
            found.append(f"{label}: a code cell runs before the locked set-up cell")
        libraries = allowed.get(_nbgrader(cell).get("grade_id"), allowed["*"])
        scan = _SourceScan(protected | _CRITICAL_BUILTINS, imports,
                           assigned | protected | _CRITICAL_BUILTINS, aliases, libraries)
        scan.visit(trees[i])
        found += [f"{label} line {line}: {what}" for line, what in scan.found]
    return found


def _module_aliases(tree):
    aliases = {}
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


class _SourceScan(ast.NodeVisitor):
    """Finds tampering code in one editable cell (see find_tampering)."""

    def __init__(self, protected, locked_imports, test_names, aliases, allowed):
        self.allowed_libraries = allowed
        self.protected = protected
        self.locked_imports = locked_imports
        self.test_names = test_names
        self.aliases = aliases
        self.found = []
        self.depth = 0  # > 0 inside a function or class
        self.allowed = set()

    def flag(self, node, what):
        self.found.append((getattr(node, "lineno", 0), what))

    # where a dotted expression starts: np.random.x -> "numpy.random.x"
    def dotted(self, node):
        parts = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            root = self.aliases.get(node.id, node.id if node.id in (
                "__builtins__", "__builtin__") else None)
            if root is not None:
                return ".".join([root] + parts[::-1])
        return None

    def protected_target(self, node):
        name = self.dotted(node)
        if name is None:
            return None
        top = name.split(".")[0]
        if top in ("__builtins__", "__builtin__") or (
                top in _PROTECTED_MODULES and not name.startswith("torch.backends")):
            return name
        return None

    def check_target(self, target, verb):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.check_target(element, verb)
        elif isinstance(target, ast.Starred):
            self.check_target(target.value, verb)
        elif isinstance(target, ast.Name):
            if self.depth == 0 and target.id in self.protected:
                self.flag(target, f"{verb} {target.id!r}, which the locked cells or "
                                  "the tests rely on")
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            name = self.protected_target(target)
            if name is not None:
                self.flag(target, f"{verb} {name}")
            elif isinstance(target, ast.Attribute) and target.attr in (
                    "__class__", "__module__", "__qualname__", "__dict__"):
                self.flag(target, f"{verb} an object's {target.attr}")

    def visit_Assign(self, node):
        for target in node.targets:
            self.check_target(target, "assigns to")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.check_target(node.target, "assigns to")
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self.check_target(node.target, "assigns to")
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self.check_target(target, "deletes")
        self.generic_visit(node)

    def visit_For(self, node):
        self.check_target(node.target, "assigns to")
        self.generic_visit(node)

    def visit_With(self, node):
        for item in node.items:
            if item.optional_vars is not None:
                self.check_target(item.optional_vars, "assigns to")
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.test_names:
                self.flag(node, f"declares {name!r} global in a function: the tests "
                                "use that name")
        self.generic_visit(node)

    def visit_Nonlocal(self, node):
        self.generic_visit(node)

    def check_library(self, node, module):
        """Flag an answer module of the course, or a library the answers may not use."""
        if any(module == m or module.startswith(m + ".") for m in ANSWER_MODULES):
            self.flag(node, f"imports {module}, the course's own implementation of "
                            "what the assignments grade")
            return
        top = module.split(".")[0]
        if top and top != "course" and top not in self.allowed_libraries \
                and top not in _SUSPICIOUS_IMPORTS:
            self.flag(node, f"imports {module}, which this answer may not use "
                            f"(allowed: {', '.join(sorted(self.allowed_libraries))})")

    def visit_Import(self, node):
        for a in node.names:
            self.check_library(node, a.name)
            top = a.name.split(".")[0]
            if top in _SUSPICIOUS_IMPORTS:
                self.flag(node, f"imports {a.name}: {_SUSPICIOUS_IMPORTS[top]}")
            bound = (a.asname or top)
            if self.depth == 0 and bound in self.protected and (
                    None, a.name, bound) not in self.locked_imports and bound != top:
                self.flag(node, f"rebinds {bound!r} with an import")

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level == 0:
            self.check_library(node, module)
            for a in node.names:
                if module == "course":
                    self.check_library(node, f"course.{a.name}")
        top = module.split(".")[0]
        if top in _SUSPICIOUS_IMPORTS:
            self.flag(node, f"imports from {module}: {_SUSPICIOUS_IMPORTS[top]}")
        for a in node.names:
            bound = a.asname or a.name
            if a.name == "*":
                self.flag(node, f"imports * from {module}")
            elif self.depth == 0 and bound in self.protected and (
                    module, a.name, bound) not in self.locked_imports:
                self.flag(node, f"rebinds {bound!r} with an import from {module}")

    def visit_FunctionDef(self, node):
        if self.depth == 0 and node.name in self.protected:
            self.flag(node, f"redefines {node.name!r}, which the locked cells or "
                            "the tests rely on")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        if self.depth == 0 and node.name in self.protected:
            self.flag(node, f"redefines {node.name!r}, which the tests rely on")
        for base in node.bases:
            name = self.dotted(base) or ""
            if name in ("numpy.ndarray", "numpy.generic", "torch.Tensor") or (
                    isinstance(base, ast.Name) and base.id in ("float", "int", "bool")):
                self.flag(node, f"class {node.name} subclasses "
                                f"{name or ast.unparse(base)}")
        lying = sorted(_LYING_METHODS & _defined_names(node.body))
        if lying:
            self.flag(node, f"class {node.name} defines {', '.join(lying)}: its "
                            "objects can answer comparisons or conversions themselves")
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Lambda(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Call(self, node):
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in ("run_line_magic",
                                                              "run_cell_magic")
                and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "get_ipython"):
            magic = node.args[0].value if node.args and isinstance(
                node.args[0], ast.Constant) else None
            if magic in _ALLOWED_MAGICS:
                self.allowed.add(id(func.value.func))
            else:
                self.flag(node, f"runs the IPython magic %{magic}")
                self.allowed.add(id(func.value.func))
        setter = isinstance(func, ast.Name) and func.id in ("setattr", "delattr")
        if setter and node.args:
            name = self.protected_target(node.args[0])
            if name is None and isinstance(node.args[0], ast.Name) and \
                    node.args[0].id in ("__builtins__",):
                name = node.args[0].id
            if name is not None:
                self.flag(node, f"calls {func.id} on {name}")
        if any(kw.arg == "raw" for kw in node.keywords):
            self.flag(node, "publishes raw display data (can pose as the grader's records)")
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in ("publish_display_data", "send") or name == "load_mnist" and any(
                isinstance(a, ast.Constant) and a.value == "test" for a in node.args):
            self.flag(node, f"calls {name}: " + (
                "loads the test images whose labels the grader checks against"
                if name == "load_mnist" else "sends messages from the kernel itself"))
        if isinstance(func, ast.Name) and func.id == "type" and len(node.args) == 3:
            self.flag(node, "creates a class with type(name, bases, namespace)")
        if isinstance(func, ast.Attribute) and func.attr in _SHELL_CALLS:
            self.flag(node, f"runs a program ({func.attr})")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in _SUSPICIOUS_ATTRIBUTES:
            self.flag(node, f"uses .{node.attr}: {_SUSPICIOUS_ATTRIBUTES[node.attr]}")
        elif node.attr == "modules" and self.dotted(node) == "sys.modules":
            self.flag(node, "uses sys.modules: can replace modules the tests use")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in _SUSPICIOUS_NAMES and id(node) not in self.allowed:
            self.flag(node, f"uses {node.id}: {_SUSPICIOUS_NAMES[node.id]}")
        module = self.aliases.get(node.id, "")
        top = module.split(".")[0]
        if (isinstance(node.ctx, ast.Load) and top and top not in ("course", "builtins")
                and top not in self.allowed_libraries and top not in _SUSPICIOUS_IMPORTS
                and not any(module == m or module.startswith(m + ".")
                            for m in ANSWER_MODULES)):
            self.flag(node, f"uses {node.id} ({module}), which this answer may not use "
                            f"(allowed: {', '.join(sorted(self.allowed_libraries))})")

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            low = node.value.lower()
            for word in _SUSPICIOUS_STRINGS:
                if word in low:
                    self.flag(node, f"mentions {word!r}")
                    break


def _defined_names(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names



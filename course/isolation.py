"""Run autograding kernels in a bubblewrap sandbox: ``course grade``'s isolation.

A submission's code runs in a Jupyter kernel. Without isolation it runs as
the instructor, with the whole course (solutions, gradebook, every other
submission) readable and writable. ``IsolatedKernelManager`` starts each
kernel inside ``bwrap`` (bubblewrap) instead, where it

- sees only what it needs, read-only: the Python installation (the venv,
  the base interpreter, ``/usr``), the part of the ``course`` package that
  notebooks import (``KERNEL_MODULES``: the data loaders and the checks,
  never the course's own implementations of what the assignments grade),
  the dataset (``COURSE_DATA_DIR`` and the MNIST cache) and a few files of
  ``/etc``; nothing else of the course or of the grader exists in there;
- works in a scratch folder of its own, an in-memory file system of
  ``WORK_BYTES`` mounted where nbgrader asked the kernel to run (the
  grader's copy of the submission) and hiding it: the notebook under
  grading, with its hidden tests, is not there (the submission's other small
  regular files are, read-only), and nothing the kernel writes lands in a
  folder the grader reads or copies afterwards: the folder vanishes with the
  kernel. Its other writable place is ``/tmp`` (its ``HOME`` and
  ``IPYTHONDIR``), likewise in memory, of ``TMP_BYTES``; the kernel's
  connection file is read-only and its sockets folder writable;
- has no network (``--unshare-net``), no view of other processes
  (``--unshare-pid``), and dies with the grader (``--die-with-parent``);
- cannot start processes: a seccomp filter refuses ``fork``, ``vfork`` and
  ``clone`` without ``CLONE_THREAD`` (threads still work; their number is
  bounded by the address-space limit). ``RLIMIT_NPROC`` alone cannot stop a
  fork bomb of root, and counts all of a user's processes for anyone else;
- cannot hold memory outside its address-space limit: the same filter
  refuses ``memfd_create`` (memory it creates that way is not counted by
  ``RLIMIT_AS``), and ``/dev/shm`` is an empty read-only folder;
- gets only the environment variables a kernel needs, by name: no tokens or
  keys of the instructor's shell, no ``COURSE_*`` setting but the data
  folder (the gradebook URL, with its password, stays outside).

Memory and CPU time are limited inside the kernel (``RLIMIT_AS``,
``RLIMIT_CPU``: see ``course.autograde``); a kernel cannot raise them back.
Interrupts go as a message on the control channel (``interrupt_mode``
``message``): a signal to the kernel's process group would reach ``bwrap``
first, and kill the sandbox instead of stopping a cell.

    check()  # raises IsolationUnavailable, saying what to install
"""

import functools
import os
import platform
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import List, Unicode

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`, "
    "Fedora: `sudo dnf install bubblewrap`) and allow unprivileged user namespaces "
    "(Ubuntu 24.04: `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`), "
    "or run `course grade --no-isolation` to grade without a sandbox (the students' "
    "code then runs with your permissions and can read the solutions and the "
    "gradebook)"
)
# Files of /etc a Python kernel reads (libraries, time zone, fonts); no secrets.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone",
             "passwd", "group", "nsswitch.conf", "fonts", "matplotlibrc", "mime.types")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
               "/opt/conda")
# Environment variables passed to a kernel: names, or prefixes ending in "_".
KERNEL_ENV = ("PATH", "PYTHONPATH", "PYTHONHASHSEED", "LANG", "LANGUAGE", "TZ",
              "TERM", "XDG_CACHE_HOME", "COURSE_DATA_DIR", "NBGRADER_EXECUTION",
              "MPLBACKEND", "LC_", "OMP_", "MKL_", "OPENBLAS_", "JPY_SESSION_NAME",
              "PYDEVD_")
# The modules of `course` a grading kernel can import: what the notebooks'
# set-up cells and the rewritten test cells need, nothing that implements
# what the assignments grade (course.references, course.nn, ...).
KERNEL_MODULES = ("__init__.py", "checks.py", "checkvalues.py", "data.py", "plots.py")
# Regular files of the submission folder copied into the kernel's scratch
# folder (data a student ships with the notebook), and their limits.
MAX_SHIPPED_FILE = 16 * 2**20
MAX_SHIPPED_FILES = 100
SCRATCH = "/tmp"  # inside the sandbox: the kernel's HOME, IPYTHONDIR and TMPDIR
# The sizes of the kernel's two writable places, both in memory (tmpfs): the
# disk a kernel can fill, and the memory it can hold outside its address space.
TMP_BYTES = 256 * 2**20
WORK_BYTES = 256 * 2**20


class IsolationUnavailable(Exception):
    """bubblewrap is missing or cannot create a sandbox on this machine."""


def find_bwrap():
    """Path of the ``bwrap`` program, or None."""
    return shutil.which("bwrap")


# --------------------------------------------------------------------------
# what a kernel may read


def readable_paths():
    """Folders and files a kernel reads: Python, the course package, the data."""
    from course import data

    paths = [*SYSTEM_DIRS, *(f"/etc/{name}" for name in ETC_FILES),
             sys.prefix, sys.base_prefix, sys.exec_prefix,
             *sysconfig.get_paths().values(),
             str(Path(__file__).resolve().parent),  # `course`, even when editable
             str(data.default_cache_dir())]
    if os.environ.get(data.ENV_VAR):
        paths.append(os.environ[data.ENV_VAR])
    # Symlinked interpreters (a venv's python -> pyenv's) need their target.
    paths.append(str(Path(sys.executable).resolve().parent.parent))
    return _existing_unique(paths)


def _existing_unique(paths):
    found = []
    for path in paths:
        if path and os.path.exists(path):
            real = os.path.realpath(path)
            for p in (path, real):
                if p not in found:
                    found.append(p)
    return found


# --------------------------------------------------------------------------
# the seccomp filter: no new processes


_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# (clone, clone3, fork and vfork or None) per architecture.
_SYSCALLS = {"x86_64": (56, 435, (57, 58)), "aarch64": (220, 435, ())}
# memfd_create: memory that RLIMIT_AS does not count.
_MEMFD = {"x86_64": 319, "aarch64": 279}
_CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000
_EPERM, _ENOSYS = 1, 38
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def no_fork_filter(machine=None):
    """A seccomp BPF program (bytes): processes cannot be created, threads can,
    and ``memfd_create`` is refused.

    ``clone3`` answers ENOSYS so that the C library falls back to ``clone``,
    whose flags the filter can read. Any other architecture (32-bit calls on
    a 64-bit kernel) is refused outright.
    """
    machine = machine or platform.machine()
    if machine not in _AUDIT_ARCH:
        raise IsolationUnavailable(f"no seccomp filter for the {machine} architecture")
    clone, clone3, forks = _SYSCALLS[machine]
    prog = [(_LD, 0, 0, 4)]  # arch
    prog.append((_JEQ, 1, 0, _AUDIT_ARCH[machine]))
    prog.append((_RET, 0, 0, _RET_ERRNO | _EPERM))
    prog.append((_LD, 0, 0, 0))  # syscall number
    prog.append((_JGE, 0, 1, _X32_BIT))
    prog.append((_RET, 0, 0, _RET_ERRNO | _EPERM))
    for number in (*forks, _MEMFD[machine]):
        prog.append((_JEQ, 0, 1, number))
        prog.append((_RET, 0, 0, _RET_ERRNO | _EPERM))
    prog.append((_JEQ, 0, 1, clone3))
    prog.append((_RET, 0, 0, _RET_ERRNO | _ENOSYS))
    prog.append((_JEQ, 0, 3, clone))
    prog.append((_LD, 0, 0, 16))  # clone's flags (low 32 bits of args[0])
    prog.append((_JSET, 1, 0, _CLONE_THREAD))
    prog.append((_RET, 0, 0, _RET_ERRNO | _EPERM))
    prog.append((_RET, 0, 0, _RET_ALLOW))
    return b"".join(struct.pack("=HBBI", *op) for op in prog)


# --------------------------------------------------------------------------
# the bwrap command


def bwrap_command(bwrap, readable, writable, connection_file, cwd, scratch,
                  seccomp_fd, overlays=(), workdir=None):
    """The ``bwrap`` arguments that put a command in the sandbox (same paths inside).

    ``overlays``: (host path, path inside) pairs bound read-only over what
    ``readable`` shows (the kernel's part of ``course``); ``workdir``: the
    host folder mounted at ``cwd`` (else ``cwd`` itself).
    """
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
           "--hostname", "grader", "--proc", "/proc", "--dev", "/dev",
           "--tmpfs", "/dev/shm", "--remount-ro", "/dev/shm",
           # /tmp: memory of a bounded size, with the scratch folder's files.
           "--size", str(TMP_BYTES), "--tmpfs", SCRATCH, *_files_into(scratch, SCRATCH),
           # ipykernel would take the sandbox's init (pid 1) for a dead parent.
           "--unsetenv", "JPY_PARENT_PID"]
    for path in readable:
        cmd += ["--ro-bind", path, path]
    for host, inside in overlays:
        cmd += ["--ro-bind", str(host), str(inside)]
    # Connection file and sockets may live under /tmp: bound after the scratch.
    for path in writable:
        cmd += ["--bind", path, path]
    if connection_file:
        cmd += ["--ro-bind", connection_file, connection_file]
    if cwd and workdir:  # a working folder of bounded size, the shipped files in it
        cmd += ["--size", str(WORK_BYTES), "--tmpfs", cwd, *_files_into(workdir, cwd),
                "--chdir", cwd]
    elif cwd:
        cmd += ["--bind", cwd, cwd, "--chdir", cwd]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return cmd + ["--"]


def _files_into(host_dir, inside):
    """``--ro-bind`` arguments putting the regular files of ``host_dir`` under
    ``inside`` (a tmpfs in the sandbox), keeping their relative paths."""
    args = []
    for path in sorted(Path(host_dir).rglob("*")) if host_dir else []:
        if path.is_file() and not path.is_symlink():
            args += ["--ro-bind", str(path), f"{inside}/{path.relative_to(host_dir).as_posix()}"]
    return args


def kernel_env(env, scratch=SCRATCH):
    """The environment of a sandboxed kernel: what it needs, nothing else."""
    kept = {k: v for k, v in env.items()
            if k in KERNEL_ENV or any(k.startswith(p) for p in KERNEL_ENV
                                      if p.endswith("_"))}
    kept.setdefault("XDG_CACHE_HOME", str(_host_cache()))  # the MNIST cache
    kept.update(HOME=scratch, TMPDIR=scratch, IPYTHONDIR=f"{scratch}/ipython",
                MPLCONFIGDIR=f"{scratch}/matplotlib")
    return kept


def _host_cache():
    """The cache base ``course.data`` uses on the host (HOME changes inside)."""
    from course import data

    return data.default_cache_dir().parent.parent


def _host_matplotlib_cache():
    if os.environ.get("MPLCONFIGDIR"):
        return Path(os.environ["MPLCONFIGDIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "matplotlib"


class _SeccompFile:
    """A temporary inheritable file descriptor holding the filter, for bwrap."""

    def __init__(self, program):
        self.program = program

    def __enter__(self):
        read, write = os.pipe()
        os.write(write, self.program)  # a few hundred bytes: fits in the pipe
        os.close(write)
        os.set_inheritable(read, True)
        self.fd = read
        return read

    def __exit__(self, *exc):
        os.close(self.fd)


def check():
    """The path of a ``bwrap`` that works here; else raise IsolationUnavailable.

    The first call for a ``bwrap`` starts Python in a full sandbox and checks
    that a fork is refused there.
    """
    bwrap = find_bwrap()
    if bwrap is None:
        raise IsolationUnavailable(
            f"the kernels that run the students' code cannot be isolated: bwrap "
            f"(bubblewrap) was not found on PATH. To fix it, {INSTALL_HINT}.")
    return _sandbox_works(bwrap)


@functools.lru_cache(maxsize=None)
def _sandbox_works(bwrap):
    with tempfile.TemporaryDirectory() as scratch, \
            _SeccompFile(no_fork_filter()) as fd:
        cmd = bwrap_command(bwrap, readable_paths(), [], None, None, scratch, fd)
        cmd += [sys.executable, "-c",
                "import os\ntry:\n    os.fork()\nexcept PermissionError:\n"
                "    print('fork refused')"]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                                    pass_fds=(fd,), env=kernel_env(os.environ))
        except (OSError, subprocess.TimeoutExpired) as exc:
            result = subprocess.CompletedProcess(cmd, -1, "", str(exc))
    if result.returncode != 0 or "fork refused" not in result.stdout:
        raise IsolationUnavailable(
            f"the kernels that run the students' code cannot be isolated: {bwrap} "
            f"could not start a sandbox (exit code {result.returncode}: "
            f"{result.stderr.strip()[-500:] or result.stdout.strip()[-500:]}). "
            f"To fix it, {INSTALL_HINT}.")
    return bwrap


# --------------------------------------------------------------------------
# the kernel manager


class IsolatedKernelManager(AsyncKernelManager):
    """A kernel manager that starts every kernel inside a bubblewrap sandbox.

    Installed in a grading worker by ``use_in_nbgrader()`` and configured
    there (``IsolatedKernelManager.readable`` etc.): ``readable`` folders are bound read-only, ``writable`` ones (the sockets
    folder) read-write, ``scratch`` is a folder of the worker that becomes the
    kernel's ``/tmp``, emptied for every kernel. The kernel's working folder
    (nbgrader's ``cwd``) is bound read-write.
    """

    readable = List(Unicode(), help="paths the kernel may read").tag(config=True)
    writable = List(Unicode(), help="paths the kernel may write").tag(config=True)
    scratch = Unicode(help="the worker's folder that becomes the kernel's /tmp"
                      ).tag(config=True)
    bwrap = Unicode(help="the bwrap program (default: check() finds it)"
                    ).tag(config=True)
    _seccomp_fd = None

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None and spec.interrupt_mode != "message":
            spec.interrupt_mode = "message"  # a signal would hit bwrap, not the kernel
        return spec

    def _prepare_scratch(self):
        scratch = Path(self.scratch)
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        template = os.environ.get("IPYTHONDIR")
        if template and os.path.isdir(template):
            shutil.copytree(template, scratch / "ipython")
        # matplotlib's font list: building it anew costs every kernel seconds.
        fonts = sorted(_host_matplotlib_cache().glob("fontlist-*.json"))
        if fonts:
            (scratch / "matplotlib").mkdir()
            for path in fonts:
                shutil.copy(path, scratch / "matplotlib" / path.name)
        return scratch

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        cwd = self._launch_args.get("cwd")
        cwd = os.path.realpath(cwd) if cwd else None
        scratch = self._prepare_scratch()
        workdir = _prepare_workdir(scratch.parent / f"{scratch.name}-work", cwd)
        package = _kernel_package(scratch.parent / f"{scratch.name}-course")
        prefix = bwrap_command(self.bwrap or check(), self.readable, self.writable,
                               os.path.realpath(self.connection_file), cwd,
                               scratch, self._seccomp_fd,
                               overlays=[(package, COURSE_PACKAGE)], workdir=workdir)
        return prefix + cmd

    async def _async_pre_start_kernel(self, **kw):
        self._seccomp_file = _SeccompFile(no_fork_filter())
        self._seccomp_fd = self._seccomp_file.__enter__()
        try:
            kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        except BaseException:
            self._close_seccomp()
            raise
        kw["env"] = kernel_env(kw.get("env") or os.environ)
        kw["pass_fds"] = (*kw.get("pass_fds", ()), self._seccomp_fd)
        # ipykernel prints a banner to stdout when it has no parent to watch;
        # what cells print reaches the notebook through the kernel's sockets.
        kw.setdefault("stdout", subprocess.DEVNULL)
        return kernel_cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            self._close_seccomp()

    def _close_seccomp(self):
        if self._seccomp_fd is not None:
            self._seccomp_file.__exit__()
            self._seccomp_fd = None


COURSE_PACKAGE = Path(__file__).resolve().parent


def _kernel_package(dest):
    """A copy of the kernel's part of ``course`` (``KERNEL_MODULES``), fresh."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for name in KERNEL_MODULES:
        shutil.copy(COURSE_PACKAGE / name, dest / name)
    return dest


def _prepare_workdir(dest, submission):
    """The kernel's scratch working folder: the submission's small regular
    files, never its notebooks, copied without following links."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    if not submission or not os.path.isdir(submission):
        return dest
    copied = 0
    for entry in sorted(os.scandir(submission), key=lambda e: e.name):
        if (copied >= MAX_SHIPPED_FILES or entry.name.endswith(".ipynb")
                or not entry.is_file(follow_symlinks=False)
                or entry.stat(follow_symlinks=False).st_size > MAX_SHIPPED_FILE):
            continue
        fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as src, open(dest / entry.name, "wb") as out:
            shutil.copyfileobj(src, out)
        copied += 1
    return dest


def use_in_nbgrader():
    """Make nbgrader's ``Execute`` start its kernels with ``IsolatedKernelManager``.

    ``Execute.__init__`` passes its default (``AsyncKernelManager``, a name of
    its module) as a keyword, which wins over ``Execute.kernel_manager_class``
    in the configuration; so the name itself is replaced. Call it only in a
    grading worker process.
    """
    from nbgrader.preprocessors import execute

    execute.AsyncKernelManager = IsolatedKernelManager


# --------------------------------------------------------------------------
# what a refused action looks like from outside


_PROCESS_WORDS = ("fork", "subprocess", "Popen", "spawn", "multiprocessing",
                  "os.system")


def refusal(output, hidden=(), readable=()):
    """Why the sandbox refused what raised this error output, or None.

    ``output`` is a notebook error output; ``hidden`` are folders the kernel
    cannot see (the course): an error naming one of them is an attempt to
    reach it, unless it names a ``readable`` path inside it (a dataset kept in
    the course folder). A refusal the student's code catches
    leaves no error output and is not seen here (it did nothing either).
    """
    if output.get("output_type") != "error":
        return None
    ename, evalue = output.get("ename", ""), str(output.get("evalue", ""))
    trace = "\n".join(output.get("traceback", []))
    if "Read-only file system" in evalue:
        return f"tried to write where it may not ({ename}: {evalue[:200]})"
    if "Network is unreachable" in evalue or ename == "gaierror":
        return f"tried to use the network ({ename}: {evalue[:200]})"
    if ename == "PermissionError" and "Operation not permitted" in evalue and any(
            word in trace for word in _PROCESS_WORDS):
        return "tried to start a process"
    for folder in hidden:
        inside = [p for p in readable if p.startswith(str(folder) + os.sep)]
        if folder and str(folder) in evalue and not any(p in evalue for p in inside):
            return (f"tried to reach {folder}, which it cannot see "
                    f"({ename}: {evalue[:200]})")
    return None

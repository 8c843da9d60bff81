"""A throw-away PostgreSQL server for the gradebook tests.

``postgres_server`` (a module-scoped fixture) starts a fresh cluster with
Debian's ``postgresql`` binaries: ``initdb`` into a temporary folder, a free
port on 127.0.0.1, the Unix socket in that folder, password authentication
(scram-sha-256) for every connection. It yields a ``PostgresServer`` whose
``database(name)`` creates a database owned by the password-protected role
``grader`` and returns its SQLAlchemy URL. The server is stopped and its
folder removed afterwards.

PostgreSQL refuses to run as root: as root the server runs as the system
user ``postgres`` (which Debian's package creates) or else ``coursepg``
(created here with ``useradd``).

Missing binaries or a missing driver FAIL the tests (CI installs both):
``apt-get install postgresql`` and ``pip install -e ".[postgres]"``.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROLE = "grader"
PASSWORD = "gradebook-pw-7f3a"  # the grader role's; never in an error message
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "superuser-pw-91c2"
SERVICE_USERS = ("postgres", "coursepg")
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with "
    "`apt-get install postgresql` (Debian/Ubuntu; .ci/run does) or put a "
    "PostgreSQL bin folder on PATH")


def find_binaries():
    """The folder holding initdb and pg_ctl: PATH first, then Debian's layout."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    pytest.fail(INSTALL_HINT, pytrace=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _service_user():
    """(uid, gid) to run the server as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", SERVICE_USERS[-1]], check=True)
    entry = pwd.getpwnam(SERVICE_USERS[-1])
    return entry.pw_uid, entry.pw_gid


@dataclass
class PostgresServer:
    port: int
    folder: Path
    host: str = "127.0.0.1"

    def url(self, database, user=ROLE, password=PASSWORD, port=None, host=None):
        """A SQLAlchemy URL (``postgresql://``: psycopg 3 with SQLAlchemy 2.1)."""
        auth = f"{user}:{password}" if password is not None else user
        return (f"postgresql://{auth}@{host or self.host}:{port or self.port}/"
                f"{database}")

    def admin(self, database="postgres"):
        """A psycopg connection as the superuser (autocommit)."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, dbname=database,
                               user=SUPERUSER, password=SUPERUSER_PASSWORD,
                               autocommit=True)

    def database(self, name):
        """Create database ``name`` owned by the grader role; its URL."""
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{ROLE}"')
        return self.url(name)


def _run(args, user, **kwargs):
    ids = {} if user is None else {"user": user[0], "group": user[1], "extra_groups": []}
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=120, **ids, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                           f"{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def postgres_server():
    """A running throw-away PostgreSQL cluster (see the module docstring)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail('the PostgreSQL driver is not installed: pip install -e ".[postgres]" '
                    '(or ".[dev]", which includes it)', pytrace=False)
    bindir = find_binaries()
    user = _service_user()
    # Not under pytest's tmp_path: that is private to us (0700), and the
    # server's user must be able to reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="course-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    pwfile = folder / "superuser.pw"
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if user is not None:
        for path in (folder, sockets, pwfile):
            os.chown(path, *user)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C",
           "HOME": str(folder)}
    port = free_port()
    started = False
    try:
        _run([bindir / "initdb", "-D", data, "-U", SUPERUSER, "--pwfile", pwfile,
              "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"], user, env=env)
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=100")
        _run([bindir / "pg_ctl", "-D", data, "-l", folder / "server.log", "-o", options,
              "-w", "-t", "60", "start"], user, env=env)
        started = True
        server = PostgresServer(port, folder)
        with server.admin() as conn:
            conn.execute(f"CREATE ROLE \"{ROLE}\" LOGIN PASSWORD '{PASSWORD}'")
        yield server
    finally:
        if started:
            try:
                _run([bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], user,
                     env=env)
            except (RuntimeError, subprocess.TimeoutExpired):
                _run([bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], user,
                     env=env)
        for _ in range(3):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                break
            time.sleep(0.5)

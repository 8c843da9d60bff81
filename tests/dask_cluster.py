"""A real Dask cluster on localhost for the tests: a scheduler and worker
processes over TCP, started with Dask's own commands and stopped afterwards.

    with DaskCluster(tmp_path, workers=2) as cluster:
        main(["grade", NAME, "--scheduler", cluster.address, ...])
        cluster.kill_scheduler()

The scheduler gets the settings the README asks for (a job whose worker
dies is tried once more, one job per worker thread at a time); each worker
runs under a nanny, which starts it again when it is killed.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    env = dict(os.environ)
    env.update(DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="1",
               DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0",
               PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]))
    return env


class DaskCluster:
    """``dask scheduler`` and ``dask worker --nworkers N --nthreads 1``."""

    def __init__(self, folder, workers=2, port=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = port or free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler = self.worker_group = None
        self._client = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        log = open(self.folder / "scheduler.log", "ab")
        self.scheduler = subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-dashboard"],
            env=_env(), stdout=log, stderr=log, start_new_session=True)
        self._wait_for_port()
        self.start_workers()

    def start_workers(self):
        log = open(self.folder / "workers.log", "ab")
        self.worker_group = subprocess.Popen(
            [str(BIN / "dask"), "worker", self.address, "--nworkers",
             str(self.workers), "--nthreads", "1", "--no-dashboard",
             "--local-directory", str(self.folder / "workers")],
            env=_env(), stdout=log, stderr=log, start_new_session=True)
        self.client().wait_for_workers(self.workers, timeout=120)

    def _wait_for_port(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError("the Dask scheduler exited: see "
                                   f"{self.folder / 'scheduler.log'}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the Dask scheduler did not listen on {self.port}")

    def client(self):
        from distributed import Client

        if self._client is None or self._client.status != "running":
            self._client = Client(self.address, timeout=30, set_as_default=False)
        return self._client

    def worker_pids(self):
        """address -> pid of each worker process."""
        return self.client().run(os.getpid)

    def busy_workers(self, prefix="course-grade-"):
        """Addresses of the workers running a grading job right now."""
        processing = self.client().processing()
        return [address for address, keys in processing.items()
                if any(str(k).startswith(prefix) for k in keys)]

    def kill_worker(self, address):
        os.kill(self.worker_pids()[address], signal.SIGKILL)

    def kill_scheduler(self):
        self._close_client()
        self.scheduler.send_signal(signal.SIGKILL)
        self.scheduler.wait()

    def _close_client(self):
        if self._client is not None:
            try:
                self._client.close(timeout=5)
            except Exception:
                pass
            self._client = None

    def stop(self):
        self._close_client()
        for proc in (self.worker_group, self.scheduler):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()

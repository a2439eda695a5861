"""The local stack in a subprocess, so the load generator and the server do not share
one interpreter (and its GIL)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_REST_LINE = re.compile(r"REST\s+(http://\S+)")
_WS_LINE = re.compile(r"WebSocket\s+(ws://[^\s?]+)")


class StackProcess:
    def __init__(self, environment: dict[str, str] | None = None, *, module: str = "local") -> None:
        # Added to the stack's environment (the functions read it at their cold start).
        self._environment = dict(environment or {})
        # `python -m <module>`: the hub (local) or the reference design (bench.reference).
        self._module = module
        self._process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self.ws_url = ""
        self.rest_url = ""

    async def start(self, timeout: float = 60.0) -> None:
        """Start `python -m local --port 0 --quiet` (or the module given); return once its
        banner names its URLs."""
        paths = [str(REPO / "layers" / "realtime" / "python"), str(REPO), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, **self._environment, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self._module,
            "--port",
            "0",
            "--quiet",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        async with asyncio.timeout(timeout):
            while not (self.ws_url and self.rest_url):
                line = (await self._process.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"the local stack exited with {await self._process.wait()}")
                if match := _WS_LINE.search(line):
                    self.ws_url = match.group(1)
                if match := _REST_LINE.search(line):
                    self.rest_url = match.group(1)
        self._drain = asyncio.create_task(self._discard(self._process.stdout))

    async def stop(self, timeout: float = 30.0) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGTERM)  # the stack closes its sockets, then exits
        try:
            await asyncio.wait_for(self._process.wait(), timeout)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain

    @staticmethod
    async def _discard(stream: asyncio.StreamReader) -> None:
        # Keep reading so a chatty child never blocks on a full pipe.
        while await stream.readline():
            pass

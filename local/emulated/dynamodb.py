"""DynamoDB (and SQS) for the local stack: moto in a child process, with the table the
handlers expect (the same key schema and TTL attribute as the deployed one)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import boto3

from local.emulated import moto_process
from local.emulated.faults import FaultPlan
from local.emulated.latency import LatencyModel
from local.runner.settings import LOCAL_REGION, LOCAL_TABLE_NAME
from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE


class LocalDynamoDB:
    """moto's DynamoDB and SQS in a child process (`python -m local.emulated.moto_process`),
    as they are separate services in AWS: moto's pure-Python request handling no longer
    shares the emulator's and the functions' GIL (~40 % of the local stack's CPU in a
    queued fan-out to 1,000 subscribers).

    The child is driven over its stdin and stdout (local/emulated/moto_process.py): it
    names its port once it serves, reports every SQS send (the fan-out poller's wake-up),
    and acknowledges each fault or latency change before the call that made it returns;
    it exits when its stdin closes, so it never outlives this process."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._acks: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._control = threading.Lock()
        self._on_sqs_send: Callable[[], None] | None = None
        self.endpoint = ""
        self.speedups_installed = False

    def start(self, timeout: float = 30.0) -> None:
        paths = [path for path in sys.path if path]
        self._process = process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "local.emulated.moto_process", self._host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        )
        self._reader = threading.Thread(target=self._read, args=(process,), name="local-dynamodb", daemon=True)
        self._reader.start()
        try:
            ready = self._acks.get(timeout=timeout)
        except queue.Empty:
            ready = ""
        if not ready.startswith(moto_process.READY):
            self.stop()
            raise RuntimeError("moto's DynamoDB did not start")
        fields = dict(field.split("=", 1) for field in ready.split()[1:])
        self.endpoint = f"http://{self._host}:{fields['port']}"
        self.speedups_installed = fields.get("speedups") == "1"

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(moto_process.SQS_SENT):
                callback = self._on_sqs_send
                if callback is not None:
                    callback()
            elif line.startswith((moto_process.READY, moto_process.ACK)):
                self._acks.put(line.strip())
        self._acks.put("")  # the child is gone: nobody waits for an answer forever

    def _command(self, **change: Any) -> None:
        process = self._process
        if process is None or process.stdin is None:
            return
        with self._control:
            process.stdin.write(json.dumps(change) + "\n")
            process.stdin.flush()
            try:
                answer = self._acks.get(timeout=30)
            except queue.Empty:
                answer = ""
        if answer != moto_process.ACK:
            raise RuntimeError(f"moto's DynamoDB did not apply {sorted(change)}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()  # the child's cue to exit
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
            self._reader = None

    def inject_faults(self, faults: FaultPlan) -> None:
        self._command(faults=faults.model_dump(mode="json"))

    def inject_latency(self, latency: LatencyModel) -> None:
        self._command(latency=latency.model_dump(mode="json"))

    def on_sqs_send(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each SendMessage (from the thread reading the child)."""
        self._on_sqs_send = callback

    def client(self) -> Any:
        # moto accepts any credentials; these are placeholders, not secrets.
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106
        )

    def create_table(self, name: str = LOCAL_TABLE_NAME) -> None:
        client = self.client()
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": PK, "AttributeType": "S"},
                {"AttributeName": SK, "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )

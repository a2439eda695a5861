"""`python -m local.emulated.moto_process [HOST]`: moto's DynamoDB and SQS served on a free
port of HOST, for local.emulated.dynamodb.LocalDynamoDB, which starts it.

The protocol, one line at a time:
- stdout: `READY port=<port> speedups=<0|1>` once serving; `SQS-SENT` after each
  SendMessage(Batch) has been answered; `ACK` after each command has been applied;
- stdin: a JSON command, `{"faults": {...}}` (a FaultPlan) or `{"latency": {...}}` (a
  LatencyModel), applied to the calls that come after it; end of input stops the server.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time

READY = "READY"
SQS_SENT = "SQS-SENT"
ACK = "ACK"


def main(host: str = "127.0.0.1") -> int:
    import uvicorn  # the parent imports this module for the names above only

    from local.emulated import moto_speedups
    from local.emulated.faults import FaultPlan
    from local.emulated.latency import LatencyModel
    from local.emulated.moto_app import MotoApp

    # Ctrl-C in `make dev` reaches the whole process group: this process stops when the
    # stack closes its stdin, after the stack's own shutdown (which still calls moto).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    moto_speedups.install()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(1024)
    app = MotoApp()
    output = threading.Lock()

    def say(line: str) -> None:
        with output:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    app.on_sqs_send = lambda: say(SQS_SENT)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning"))
    thread = threading.Thread(target=lambda: server.run(sockets=[listener]), name="moto", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            return 1
        time.sleep(0.01)
    say(f"{READY} port={listener.getsockname()[1]} speedups={int(moto_speedups.installed())}")
    for line in sys.stdin:
        command = json.loads(line)
        if "faults" in command:
            app.faults = FaultPlan.model_validate(command["faults"])
        if "latency" in command:
            app.latency = LatencyModel.model_validate(command["latency"])
        say(ACK)
    server.should_exit = True
    thread.join(timeout=10)
    app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))

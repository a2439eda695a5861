"""`python -m local [--port 8000] [--host 127.0.0.1] [--ready-file PATH]` (what `make dev`
runs): the local stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from types import FrameType

from local.emulated.faults import FaultPlan
from local.emulated.latency import LatencyModel
from local.runner.deployment import LocalDeployment
from local.runner.settings import (
    DEFAULT_PORT,
    LOCAL_SERVICE_CLIENT_ID,
    LOCAL_SERVICE_CLIENT_SECRET,
    LOCAL_TABLE_NAME,
    LOCAL_TOKEN_PATH,
)
from local.tools.tokens import mint_token

BANNER = """\
Realtime admin hub - local stack (DynamoDB: moto at {dynamodb}, table {table})

  Dashboard  {dashboard}
  WebSocket  {ws_url}?token=<JWT>
  REST       {rest_url}
  REST (IAM) {iam_rest_url} (SigV4-signed with the local credentials below; publish only)
  Services   {base_url}{token_path} (client credentials: {client_id} / {client_secret};
             scopes realtime/publish realtime/read; or `make -s token SCOPES=realtime/publish`)
  Event bus  {events_url} (EventBridge PutEvents; detail-type "Realtime Publish" is published)
  Lifecycle  {base_url}/_local/events (connection opened/closed, group occupied/vacated; also logged)
  Queues     groups over FANOUT_QUEUE_THRESHOLD (500) members fan out through SQS FIFO + the worker;
             dead letters: {base_url}/_local/dead-letters (ingestion)
             (the /_local/ routes need an admin token: -H "Authorization: Bearer $TOKEN")
  Callbacks  {base_url}/@connections/<id> (SigV4-signed: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)
  Admin JWT  (sub=admin, roles=admin, valid 8 h; `make -s token` mints others)

export TOKEN={token}

Try it:
  websocat "{ws_url}?token=$TOKEN"
  npx wscat -c "{ws_url}?token=$TOKEN"
    then send: {{"action":"subscribe","group":"analytics"}}
  curl -s -X POST {rest_url}/broadcast/analytics \\
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
    -d '{{"metrics":{{"cpu":0.5}}}}'
  curl -s -X POST {base_url}/_local/events -H "Authorization: Bearer $TOKEN" \\
    -H "Content-Type: application/json" \\
    -d '{{"source":"my.service","detail-type":"Realtime Publish",
         "detail":{{"group":"alerts","type":"Alert","data":{{"title":"Disk","message":"91%"}}}}}}'

Ctrl-C stops.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or DEFAULT_PORT),
        help=f"port to serve on; 0 picks a free one (default: $PORT or {DEFAULT_PORT})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--quiet", action="store_true", help="no access log; functions log warnings only")
    parser.add_argument("--verbose", action="store_true", help="also log the @connections calls of the functions")
    parser.add_argument(
        "--ready-file",
        help="once serving, write the URLs there as JSON {baseUrl, wsUrl, restUrl, iamRestUrl, tokenUrl, "
        "dashboardUrl, port} (for tools)",
    )
    return parser.parse_args(argv)


def dashboard_line(stack: LocalDeployment, token: str) -> str:
    """The ready link (the token in the fragment: the browser never sends it), or how to build."""
    if not (stack.dashboard.dist / "index.html").is_file():
        return f"{stack.dashboard_url} (not built: run `make dashboard`, then open {stack.dashboard_url}#token=$TOKEN)"
    return f"{stack.dashboard_url}#token={token}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    faults = FaultPlan.from_env()
    if faults.active:
        print(f"fault injection on @connections: {faults.model_dump(exclude={'seed'})}", file=sys.stderr)
    latency = LatencyModel.from_env()
    if latency.active:
        print(f"latency model (ms per call): {latency.model_dump()}", file=sys.stderr)
    stack = LocalDeployment(
        port=args.port,
        host=args.host,
        access_log=not args.quiet,
        verbose=args.verbose,
        environment={"POWERTOOLS_LOG_LEVEL": "WARNING"} if args.quiet else None,
        faults=faults,
        latency=latency,
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stopping = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    token = mint_token("admin", ["admin"])
    print(
        BANNER.format(
            dynamodb=stack.dynamodb_endpoint,
            table=LOCAL_TABLE_NAME,
            ws_url=stack.ws_url,
            rest_url=stack.rest_url,
            iam_rest_url=stack.iam_rest_url,
            token_path=LOCAL_TOKEN_PATH,
            client_id=LOCAL_SERVICE_CLIENT_ID,
            client_secret=LOCAL_SERVICE_CLIENT_SECRET,
            events_url=stack.events_endpoint,
            base_url=stack.base_url,
            token=token,
            dashboard=dashboard_line(stack, token),
        ),
        flush=True,
    )
    if args.ready_file:
        urls = {
            "baseUrl": stack.base_url,
            "wsUrl": stack.ws_url,
            "restUrl": stack.rest_url,
            "iamRestUrl": stack.iam_rest_url,
            "tokenUrl": stack.token_url,
            "dashboardUrl": stack.dashboard_url,
            "port": stack.port,
        }
        with open(args.ready_file + ".tmp", "w", encoding="utf-8") as ready:
            json.dump(urls, ready)
        os.replace(args.ready_file + ".tmp", args.ready_file)  # readers never see half a file
    try:
        while stack.running and not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", file=sys.stderr, flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

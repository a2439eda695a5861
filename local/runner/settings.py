"""Settings of the local stack only. Nothing here is ever deployed."""

from __future__ import annotations

from realtime.config import DEFAULT_FANOUT_WORKER_CONCURRENCY

# LOCAL DEVELOPMENT ONLY. This HS256 secret is public (it is in the repository) and signs
# tokens for the local stack alone. Deployed stacks verify RS256/ES256 tokens against a
# JWKS URL and never read JWT_HS256_SECRET.
LOCAL_DEV_SIGNING_SECRET = "local-development-only-signing-secret-not-for-aws"  # noqa: S105
LOCAL_ISSUER = "https://realtime.local/issuer"
LOCAL_AUDIENCE = "realtime-dashboard"
# LOCAL DEVELOPMENT ONLY: one service app client, as the stack creates one per configured
# service in Cognito. Its secret is public too; the local token endpoint (POST /oauth2/token,
# local/emulated/token_endpoint.py) gives it client-credentials tokens, like Cognito's.
LOCAL_SERVICE_CLIENT_ID = "realtime-local-service"
LOCAL_SERVICE_CLIENT_SECRET = "local-development-only-client-secret-not-for-aws"  # noqa: S105
LOCAL_SERVICE_SCOPES = ("realtime/publish", "realtime/read")
LOCAL_TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a path
LOCAL_TABLE_NAME = "realtime-local"
LOCAL_REGION = "us-east-1"
# The functions' AWS credentials: moto accepts any, and the local @connections API checks
# SigV4 signatures against these (local/emulated/sigv4.py). Placeholders, not secrets.
LOCAL_ACCESS_KEY_ID = "local"
LOCAL_SECRET_ACCESS_KEY = "local"  # noqa: S105
DEFAULT_PORT = 8000
# EventBridge: the local bus (local/emulated/event_bus.py) answers PutEvents under this path, and
# the ingestion's dead-letter queue lives in moto's SQS (same endpoint as DynamoDB).
LOCAL_EVENT_BUS_NAME = "realtime-local"
LOCAL_LIFECYCLE_SOURCE = "realtime.hub"
LOCAL_INGEST_DEAD_LETTER_QUEUE = "realtime-local-ingest-dlq"
EVENT_BUS_PATH = "/_aws/events"
# The emulator's own tooling routes (/_local/events, /_local/dead-letters): admin tokens only.
LOCAL_TOOLING_PATH = "/_local"
LOCAL_ADMIN_ROLE = "admin"
# The fan-out queue (FIFO) and its dead-letter queue, in moto's SQS (local/emulated/fanout_queue.py).
LOCAL_FANOUT_QUEUE = "realtime-local-fanout.fifo"
LOCAL_FANOUT_DEAD_LETTER_QUEUE = "realtime-local-fanout-dlq.fifo"


LOCAL_DYNAMODB_READ_TIMEOUT_SECONDS = 30


def function_environment(port: int, dynamodb_endpoint: str) -> dict[str, str]:
    """The environment every function gets locally: what CDK sets in AWS, pointed at
    the local emulator and moto instead."""
    return {
        "TABLE_NAME": LOCAL_TABLE_NAME,
        "WEBSOCKET_CALLBACK_URL": f"http://127.0.0.1:{port}",
        "JWT_ISSUER": LOCAL_ISSUER,
        "JWT_AUDIENCE": f"{LOCAL_AUDIENCE} {LOCAL_SERVICE_CLIENT_ID}",
        "JWT_HS256_SECRET": LOCAL_DEV_SIGNING_SECRET,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        # boto3 names the variable after the service id: EventBridge, not "events".
        "AWS_ENDPOINT_URL_EVENTBRIDGE": f"http://127.0.0.1:{port}{EVENT_BUS_PATH}",
        "AWS_ENDPOINT_URL_SQS": dynamodb_endpoint,  # moto's server serves every service
        "EVENT_BUS_NAME": LOCAL_EVENT_BUS_NAME,
        "LIFECYCLE_SOURCE": LOCAL_LIFECYCLE_SOURCE,
        # moto's queue URLs: <endpoint>/<account>/<name>
        "INGEST_DEAD_LETTER_QUEUE_URL": f"{dynamodb_endpoint}/{LOCAL_ACCOUNT_ID}/{LOCAL_INGEST_DEAD_LETTER_QUEUE}",
        "FANOUT_QUEUE_URL": f"{dynamodb_endpoint}/{LOCAL_ACCOUNT_ID}/{LOCAL_FANOUT_QUEUE}",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": LOCAL_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_ACCESS_KEY,
        "POWERTOOLS_SERVICE_NAME": "realtime-local",
        "POWERTOOLS_METRICS_NAMESPACE": "RealtimeLocal",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        # moto serves one request at a time: under load (1,000 $disconnects at once) a call
        # waits its turn for seconds, which DynamoDB never makes it do (config.py).
        "DYNAMODB_READ_TIMEOUT_SECONDS": str(LOCAL_DYNAMODB_READ_TIMEOUT_SECONDS),
    }


# What a function gets besides function_environment(), as CDK sets it for that function only
# (infra/functions.py, function_values: tests/e2e/test_deployment_parity.py compares them).
# The functions share this process, so the runtime applies these while the function loads.
FUNCTION_ENVIRONMENT: dict[str, dict[str, str]] = {
    "fanout_worker": {"FANOUT_CONCURRENCY": str(DEFAULT_FANOUT_WORKER_CONCURRENCY)},
}


# What the emulated API Gateway calls itself in ARNs and events. Any well-formed values
# work: the handlers only read the region, account, API id and stage back from the ARN.
LOCAL_ACCOUNT_ID = "123456789012"
# Who a request signed with the local credentials is, as API Gateway names an IAM caller.
LOCAL_IAM_PRINCIPAL = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/local"
LOCAL_API_ID = "localapi01"
LOCAL_STAGE = "local"
WEBSOCKET_PATH = "/ws"
REST_BASE_PATH = "/api/admin/realtime"
IAM_REST_BASE_PATH = f"/iam{REST_BASE_PATH}"  # realtime.entrypoints.rest.IAM_BASE_PATH

# How the deployed APIs authorize and what runs on a schedule (infra/websocket_api.py,
# infra/rest_api.py, infra/config.py); the emulator applies the same rules, and
# tests/e2e/test_deployment_parity.py fails when the two drift apart.
WEBSOCKET_AUTHORIZER_IDENTITY_SOURCE = "route.request.querystring.token"
REST_AUTHORIZER_IDENTITY_SOURCE = "Authorization"
REST_AUTHORIZER_VALIDATION_REGEX = (
    r"^\s*[Bb][Ee][Aa][Rr][Ee][Rr] \s*[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*\s*$"
)
REST_AUTHORIZER_CACHE_SECONDS = 300
SWEEP_MINUTES = 5

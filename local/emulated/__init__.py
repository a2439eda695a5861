"""The AWS services the local stack emulates: API Gateway (WebSocket, REST, @connections,
authorizers, request limits), Lambda, EventBridge, SQS with its event source mapping, the
sweeper's schedule, and DynamoDB in moto. Each module names the deployed resource it stands for."""

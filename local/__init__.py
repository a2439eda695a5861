"""The local stack: an API Gateway emulator that invokes the very handlers under
functions/, with DynamoDB served by moto. Development tooling only; never deployed."""

"""Benchmarks (`make bench`): they print numbers and never assert timing.

- Against the local stack (`bench.scenarios`): connect latency, publish-to-delivery latency,
  deliveries per second. The stack is an emulator on moto, so these numbers describe this
  machine and the emulator, not AWS: they are for spotting regressions and orders of magnitude.
- Fan-out at scale (`bench.fanout_scale`): the real delivery code in worker processes against
  a simulated Management API with a configurable round trip, side by side with a naive boto3
  loop; CPU per delivery is the number that carries over to Lambda.
"""

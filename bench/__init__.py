"""Benchmarks against the local stack (`make bench`): they print numbers and never assert
timing. The local stack is an emulator on moto, so the numbers describe this machine and
the emulator, not AWS; they are for spotting regressions and order-of-magnitude costs."""

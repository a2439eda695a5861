"""Benchmarks (`make bench`): they print numbers and never assert timing.

- Against the local stack (`bench.scenarios`): connect latency, publish-to-delivery latency,
  deliveries per second, disconnects, resume. The stack is an emulator on moto, so these
  numbers describe this machine and the emulator, not AWS: they are for spotting
  regressions and orders of magnitude (with the latency model, local/emulated/latency.py,
  for end-to-end figures closer to what AWS would show).
- Fan-out at scale (`bench.fanout_scale`): the real delivery code in worker processes against
  a simulated Management API with a configurable round trip, side by side with a naive boto3
  loop; CPU per delivery is the number that carries over to Lambda.

Importing the package puts the shared layer (`realtime`) on sys.path, as Lambda does with
/opt/python, so `python -m bench …` works without `make` setting PYTHONPATH.
"""

import sys
from pathlib import Path

_LAYER_PYTHON_DIR = str(Path(__file__).resolve().parent.parent / "layers" / "realtime" / "python")
if _LAYER_PYTHON_DIR not in sys.path:
    sys.path.insert(0, _LAYER_PYTHON_DIR)

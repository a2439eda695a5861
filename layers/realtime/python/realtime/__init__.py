"""Shared code of every Lambda function: domain logic, ports and AWS adapters.

Deployed as a Lambda layer (Lambda sees it under /opt/python/realtime).
"""

from realtime.snapstart import reseed_after_restore

# Once per execution environment, whichever function imports the layer first: with
# SnapStart, this import happens before the snapshot (realtime/snapstart.py).
reseed_after_restore()

"""What an execution environment restored from a SnapStart snapshot must not share with
the others restored from it (docs/architecture.md, "SnapStart").

`random` seeds itself once, at import: every environment resumed from one snapshot would
then draw the same jitter for its retries and backoffs, and throttled calls from many of
them would line up instead of spreading. After each restore it is seeded again from the
OS. Nothing else made at init needs renewing: ids and idempotency keys come from
os.urandom, no connection is opened at init, and botocore refreshes the credentials
SnapStart functions receive from Lambda's credentials endpoint.

The hook registry (`snapshot_restore_py`) is part of Lambda's Python runtime; where it is
missing (the local stack, a function without SnapStart's runtime) nothing is registered,
and in a function without SnapStart the hook is simply never called.
"""

from __future__ import annotations

import random


def reseed_after_restore() -> bool:
    """Register the hooks; False where the runtime has no SnapStart registry."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(random.seed)  # no argument: a seed from os.urandom
    return True

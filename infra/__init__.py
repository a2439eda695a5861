"""The AWS CDK app of the real-time hub: one construct per concern, composed by `RealtimeStack`.

The shared layer's package (`realtime`) is importable from here on, so the infrastructure
reads the table's key names and validates the hub's settings with the very code the
functions run.
"""

from infra.paths import ensure_layer_importable

ensure_layer_importable()

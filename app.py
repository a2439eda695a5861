#!/usr/bin/env python3
"""CDK entry point (`npx cdk synth`): the app is built by infra.application; see docs/deploy.md."""

import sys

from infra.application import main

if __name__ == "__main__":
    sys.exit(main())

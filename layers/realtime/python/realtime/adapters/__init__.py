"""The adapters: the only code that talks to AWS, and the one place AWS errors become
domain errors. realtime.bootstrap builds them; the domain sees only its ports."""

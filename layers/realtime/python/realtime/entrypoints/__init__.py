"""Event parsing and dispatch for each kind of Lambda trigger; functions/*/handler.py call these."""

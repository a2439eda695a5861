"""The process that runs the emulated services: the routes on one port (app.py), the
deployment object that starts and stops them (deployment.py), its settings and the
process-wide state it changes."""

"""Shared code of every Lambda function: domain logic, ports and AWS adapters.

Deployed as a Lambda layer (Lambda sees it under /opt/python/realtime).
"""

"""Every use of Faust's and mode's internals, and the agents that feed the pipelines.

The pipelines (`counting/pipeline.py`, ...) know only small Protocols; the modules here adapt
Faust's streams, tables and topics to them (see docs/design.md#stages).
"""

"""The centre's side of the broker: what `openlfr serve --broker` runs beside the API.

`link.py` consumes the workers' alerts and heartbeats from JetStream and records them through
services/, `metrics.py` reads the link's counters for the centre's registry. A worker at the
camera loads edge/ and never this package (tests/unit/test_architecture.py).
"""

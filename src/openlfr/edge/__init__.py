"""Edge workers (the live pipeline next to the cameras) and the centre's link to them.

`worker.py` runs the cameras of the deployments the centre assigns, `sink.py` seals alerts for
the broker, `centre.py` is the centre's side (ingestion, liveness, control messages).
"""

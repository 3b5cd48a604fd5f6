"""Edge workers: the live pipeline next to the cameras, and all a worker at the camera loads.

`worker.py` runs the cameras of the deployments the centre assigns (`centre_api.py` is its HTTP
client of the centre), `sink.py` seals alerts for the broker. The centre's side of the broker is
in `openlfr.centre`, which nothing here imports.
"""

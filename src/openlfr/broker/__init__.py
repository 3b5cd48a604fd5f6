"""NATS JetStream between edge workers and the centre: subjects, streams, the envelope, clients.

Only alerts (sealed for the centre) and counters cross the network; the broker never holds a
face, a template or a non-match in clear.
"""

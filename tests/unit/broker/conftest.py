from tests.nats_server import nats_server  # noqa: F401

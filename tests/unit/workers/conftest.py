from tests.nats_server import nats_server  # noqa: F401
from tests.unit.api.conftest import w  # noqa: F401

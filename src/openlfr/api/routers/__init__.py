"""One router per concern, each a thin adapter over the governance service."""

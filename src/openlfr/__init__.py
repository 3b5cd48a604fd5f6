"""OpenLFR: live facial recognition that is accurate, measured and lawful by design."""

__version__ = "0.1.0"

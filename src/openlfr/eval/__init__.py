"""Measuring the engine: LFW verification, open-set identification, demographic differentials,
calibration, and the model approval report the governance core consumes."""

"""Persistence of the governance core: SQLAlchemy 2 models, Alembic migrations, envelope
encryption of biometric data and the hash-chained audit log."""

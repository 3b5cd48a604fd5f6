"""The console's templates, static files and presentation layer (present.py)."""

"""Application services: each joins pure rules with storage for one concern."""

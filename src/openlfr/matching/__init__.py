"""Watchlists and exact 1:N search.

`Watchlist` is the only thing the live pipeline needs from here; governance builds one from its
own decrypted entries with `Watchlist(subject_ids, vectors, contract)`, the CLI from a folder
with `Watchlist.from_folder(...)`.
"""

from openlfr.matching.watchlist import Candidate, EnrolmentIssue, Watchlist

__all__ = ["Candidate", "EnrolmentIssue", "Watchlist"]

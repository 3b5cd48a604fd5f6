"""The legal controls as plain rules: no web framework, no database, time from a Clock.

Modules: vocab (closed lists), deployment (authorisation, state machine, cameras), watchlist,
alerts (human review), retention, transparency. Storage and services call these; they never
call back.
"""

"""`openlfr doctor`: checks of an installation, each saying what is wrong and how to fix it.

Every check returns findings (ok, warn, fail) with a code that docs/troubleshooting.md lists,
so the page and the program cannot drift apart (tests/unit/doctor checks every code is there).
"""

from openlfr.doctor.findings import Finding, Level

__all__ = ["Finding", "Level"]

"""Two people means two people (issue 19): who may be one of the two of a two-person rule.

An administrator who made an account, or reset its password, knows that password; one who
granted its roles could have granted them to an account they hold. Such an account counts as
one of the two people of an erasure, a model approval's countersignature or an urgent start only
once its holder has set their own password and a second administrator has confirmed the grant.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AccountTrust:
    """What the rule needs of a stored account."""

    password_by_holder: bool
    roles_granted_by: str | None  # the administrator who last granted or changed the roles
    roles_confirmed_by: str | None  # the second administrator who confirmed that grant


def account_problems(a: AccountTrust) -> list[str]:
    """Why `a` cannot yet be one of two people (empty: it can)."""
    out = []
    if not a.password_by_holder:
        out.append("the password was set by an administrator; its holder must set their own")
    if a.roles_granted_by is not None and a.roles_confirmed_by is None:
        out.append(
            f"the roles {a.roles_granted_by} granted await confirmation by a second administrator"
        )
    return out

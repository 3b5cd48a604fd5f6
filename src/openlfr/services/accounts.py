"""People: creating users with roles, signing in, passwords, resolving who is acting."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from argon2.exceptions import VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.errors import NotFoundError, PermissionDeniedError, RuleViolation, TwoPersonRuleError
from openlfr.governance.deployment import Actor
from openlfr.governance.two_person import AccountTrust, account_problems
from openlfr.governance.vocab import Role, parse
from openlfr.services import rows
from openlfr.services.context import ServiceContext
from openlfr.services.room import Room
from openlfr.services.rows import SYSTEM
from openlfr.storage import models as m


def random_password() -> str:
    return secrets.token_urlsafe(18)


class Accounts(Room):
    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self._dummy: str | None = None

    def create_user(
        self,
        by: Actor | None,
        username: str,
        password: str,
        roles: list[str],
        display_name: str = "",
    ) -> Actor:
        parsed = [parse(Role, r, "role") for r in roles]
        if not parsed:
            raise RuleViolation("create user", ["a user needs at least one role"])
        if len(password) < 12:
            raise RuleViolation("create user", ["the password must have at least 12 characters"])
        with self.ctx.tx() as s:
            first = s.execute(select(func.count()).select_from(m.User)).scalar_one() == 0
            if not first:
                if by is None:
                    raise PermissionDeniedError("only an administrator can create users")
                self.ctx.need_role(by, Role.ADMINISTRATOR)
            elif Role.ADMINISTRATOR not in parsed:
                raise RuleViolation("create user", ["the first user must be an administrator"])
            if s.execute(select(m.User).where(m.User.username == username)).first():
                raise RuleViolation("create user", [f"username {username!r} is taken"])
            u = m.User(
                id=uuid.uuid4().hex,
                username=username,
                display_name=display_name,
                password_hash=self.ctx.hasher.hash(password),
                roles=",".join(sorted(parsed)),
                active=True,
                created_at=self.ctx.now(),
                # The installation's first account is made by no one; any other by an
                # administrator, who chose its password and its roles.
                password_by_holder=by is None,
                roles_granted_by=by.username if by else None,
            )
            s.add(u)
            s.flush()
            self.ctx.audit(
                s,
                by.username if by else SYSTEM,
                "user.create",
                f"user:{u.id}",
                after={"username": username, "roles": sorted(parsed)},
            )
            return rows.actor_of(u)

    def authenticate(self, username: str, password: str) -> Actor:
        """The actor for a correct password of an active account (ASVS V2.2, V7.1.1).

        An unknown or inactive account costs the same password hash as a known one (no timing
        oracle for usernames). Only attempts on a known account are audited, by user id:
        whatever was typed into the username box never enters the permanent audit chain
        (failed attempts are counted by the API's metrics)."""
        if len(username) > 200 or len(password) > 1024:
            raise PermissionDeniedError("unknown user or wrong password")
        with self.ctx.tx() as s:
            u = s.execute(select(m.User).where(m.User.username == username)).scalar_one_or_none()
            known = u is not None and u.active
            ok: bool
            try:
                ok = self.ctx.hasher.verify(
                    u.password_hash if known and u is not None else self._dummy_hash(), password
                )
            except VerificationError:
                ok = False
            ok = ok and known
            if u is not None:
                self.ctx.audit(
                    s, u.username, "user.login" if ok else "user.login_failed", f"user:{u.id}"
                )
            actor = rows.actor_of(u) if ok and u is not None else None
        # Raised after the commit so the failed attempt stays in the audit log.
        if actor is None:
            raise PermissionDeniedError("unknown user or wrong password")
        return actor

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.ctx.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def actor(self, username: str) -> Actor:
        with self.ctx.tx() as s:
            return rows.actor_of(rows.user_by_name(s, username))

    def users(self) -> list[dict[str, Any]]:
        with self.ctx.tx() as s:
            return [
                {
                    "id": u.id,
                    "username": u.username,
                    "roles": u.roles.split(","),
                    "active": u.active,
                    "two_person_ready": not two_person_problems(u),
                }
                for u in s.execute(select(m.User).order_by(m.User.username)).scalars()
            ]

    def change_password(self, by: Actor, current: str, new: str) -> None:
        """A user replaces their own password (e.g. the one-time one printed at first start)."""
        if len(new) < 12:
            raise RuleViolation(
                "change password", ["the password must have at least 12 characters"]
            )
        if new == current:
            raise RuleViolation("change password", ["the new password must differ from the old"])
        hasher = self.ctx.hasher
        with self.ctx.tx() as s:
            u = s.get(m.User, by.id)
            if u is None or not u.active:
                raise NotFoundError("no such active user", source=by.username)
            ok: bool
            try:
                ok = hasher.verify(u.password_hash, current)
            except VerificationError:
                ok = False
            if not ok:
                self.ctx.audit(s, by.username, "user.password_change_failed", f"user:{u.id}")
            else:
                u.password_hash = hasher.hash(new)
                u.password_by_holder = True
                self.ctx.audit(s, by.username, "user.password_change", f"user:{u.id}")
        if not ok:
            raise PermissionDeniedError("the current password is wrong", source=by.username)

    def mark_one_time_password(self, by: str, user_id: str) -> None:
        """Record that `user_id`'s password was generated and shown once: it must be replaced at
        first login (the console and API refuse everything else until it is)."""
        with self.ctx.tx() as s:
            self.ctx.audit(s, by, "user.one_time_password", f"user:{user_id}")

    def must_change_password(self, user_id: str) -> bool:
        """True while the newest password event of the user is a one-time password."""
        with self.ctx.tx() as s:
            q = (
                select(m.AuditRecord.action)
                .where(
                    m.AuditRecord.subject == f"user:{user_id}",
                    m.AuditRecord.action.in_(("user.one_time_password", "user.password_change")),
                )
                .order_by(m.AuditRecord.seq.desc())
                .limit(1)
            )
            return s.execute(q).scalar_one_or_none() == "user.one_time_password"

    def actor_by_id(self, user_id: str) -> Actor:
        """Resolve a stored user id (e.g. a deployment's operator) to an Actor."""
        with self.ctx.tx() as s:
            u = s.get(m.User, user_id)
            if u is None or not u.active:
                raise NotFoundError("no such active user", source=user_id)
            username = u.username
        return self.actor(username)

    # -- account management (administrators; each change audited, sessions end at once) -----
    def _managed(self, s: Any, by: Actor, user_id: str) -> m.User:
        self.ctx.need_role(by, Role.ADMINISTRATOR)
        u = s.get(m.User, user_id)
        if u is None:
            raise NotFoundError("no such user", source=user_id)
        return u

    def deactivate(self, by: Actor, user_id: str, reason: str) -> None:
        """The account can no longer log in; its sessions and tokens end at once."""
        from openlfr.storage import grants

        if not reason.strip():
            raise RuleViolation("deactivate user", ["a deactivation needs a reason"])
        with self.ctx.tx() as s:
            u = self._managed(s, by, user_id)
            if u.id == by.id:
                raise PermissionDeniedError("administrators cannot deactivate themselves")
            u.active = False
            grants.remove_user(s, u.id)
            self.ctx.audit(
                s, by.username, "user.deactivate", f"user:{u.id}", after={"reason": reason}
            )

    def set_roles(self, by: Actor, user_id: str, roles: list[str]) -> Actor:
        """Replace a user's roles (applies to their open sessions on the next request)."""
        parsed = sorted({parse(Role, r, "role") for r in roles})
        if not parsed:
            raise RuleViolation("change roles", ["a user needs at least one role"])
        with self.ctx.tx() as s:
            u = self._managed(s, by, user_id)
            if u.id == by.id and Role.ADMINISTRATOR not in parsed:
                raise PermissionDeniedError("administrators cannot drop their own role")
            before = u.roles.split(",")
            if sorted(before) != list(parsed):
                u.roles_granted_by, u.roles_confirmed_by = by.username, None
            u.roles = ",".join(parsed)
            self.ctx.audit(
                s,
                by.username,
                "user.roles",
                f"user:{u.id}",
                before={"roles": before},
                after={"roles": list(parsed)},
            )
            return rows.actor_of(u)

    def reset_password(self, by: Actor, user_id: str) -> str:
        """A new one-time password (shown once to the administrator); sessions end at once."""
        from openlfr.storage import grants

        password = random_password()
        with self.ctx.tx() as s:
            u = self._managed(s, by, user_id)
            if u.id == by.id:
                raise PermissionDeniedError("change your own password under Account instead")
            u.password_hash = self.ctx.hasher.hash(password)
            u.password_by_holder = False
            # The resetting administrator holds the one-time password and could set the "own"
            # password themselves: a second administrator confirms the account again (issue 19).
            u.roles_granted_by, u.roles_confirmed_by = by.username, None
            grants.remove_user(s, u.id)
            self.ctx.audit(s, by.username, "user.password_reset", f"user:{u.id}")
            self.ctx.audit(s, by.username, "user.one_time_password", f"user:{u.id}")
        return password

    # -- two people means two people -----------------------------------------------------------
    def confirm_roles(self, by: Actor | None, user_id: str) -> None:
        """A second administrator confirms the roles another one granted (not their own grant,
        not their own account). `by=None`: the host's command line, for the single-administrator
        bootstrap (docs/deployment.md), audited as such."""
        with self.ctx.tx() as s:
            u = s.get(m.User, user_id)
            if u is None:
                raise NotFoundError("no such user", source=user_id)
            if by is not None:
                self.ctx.need_role(by, Role.ADMINISTRATOR)
                if by.username in (u.roles_granted_by, u.username):
                    raise PermissionDeniedError(
                        "a second administrator must confirm a role grant (not the one who "
                        "made it, nor its holder)",
                        source=u.username,
                    )
            who = by.username if by else HOST
            u.roles_confirmed_by = who
            self.ctx.audit(
                s, who, "user.roles_confirm", f"user:{u.id}",
                after={"roles": u.roles.split(","), "granted_by": u.roles_granted_by},
            )  # fmt: skip

    def require_second_person(self, by: Actor, rule: str) -> None:
        """Refuse `by` as one of the two people of `rule` while an administrator alone could
        be holding this account (its password, or its roles unconfirmed)."""
        with self.ctx.tx() as s:
            require_established(s, by.id, rule)


HOST = "system:host"


def two_person_problems(u: m.User) -> list[str]:
    return account_problems(
        AccountTrust(u.password_by_holder, u.roles_granted_by, u.roles_confirmed_by)
    )


def require_established(s: Session, user_id: str, rule: str) -> None:
    """In the caller's transaction: a TwoPersonRuleError unless the account of `user_id` may be
    one of the two people of `rule` (governance/two_person.py)."""
    u = s.get(m.User, user_id)
    problems = two_person_problems(u) if u is not None else ["no such user"]
    if problems:
        who = u.username if u is not None else user_id
        raise TwoPersonRuleError(f"{who} cannot take part in {rule} yet: " + "; ".join(problems))

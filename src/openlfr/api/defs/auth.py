from __future__ import annotations

from pydantic import BaseModel, Field

from openlfr.governance.vocab import Role


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=1024)


class MeOut(BaseModel):
    id: str
    username: str
    roles: list[Role]


class SessionOut(MeOut):
    csrf_token: str
    must_change_password: bool = False


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    must_change_password: bool = Field(
        default=False, description="One-time password: only /auth/password works until changed"
    )


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=12, max_length=1024)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    roles: list[Role] = Field(min_length=1)
    display_name: str = Field(default="", max_length=200)


class UserOut(BaseModel):
    id: str
    username: str
    roles: list[str]
    active: bool
    two_person_ready: bool = Field(
        default=False,
        description="Its holder set their own password and a second administrator confirmed "
        "its roles: it may be one of the two people of a two-person rule",
    )


class NewUserOut(BaseModel):
    id: str
    username: str
    roles: list[Role]
    one_time_password: str = Field(description="Shown once; the user should change it")


class RolesIn(BaseModel):
    roles: list[Role] = Field(min_length=1, max_length=5)


class DeactivateIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class PasswordResetOut(BaseModel):
    one_time_password: str = Field(description="Shown once; opens only the password change")

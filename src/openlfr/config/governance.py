"""Settings of the governance core: key file, retention defaults, EU mode, watchlist limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

RetentionProfile = Literal["24h", "31d"]
ControllerProfile = Literal[
    "police_uk", "eu_law_enforcement", "private_venue_uk", "us_illinois_bipa"
]


PublicLanguage = Literal["en", "cy"]
ENGLISH_ONLY: tuple[PublicLanguage, ...] = ("en",)


class GovernanceSettings(BaseModel):
    # Master key: base64 of 32 bytes in env OPENLFR_MASTER_KEY wins over the key file; with
    # neither, nothing biometric can be written or read and no deployment can start.
    key_file: Path | None = None
    # The audit chain's HMAC key: env OPENLFR_AUDIT_KEY, else this file (default: audit.key
    # beside the master key file), else derived from the master key. Never in the database.
    audit_key_file: Path | None = None
    retention_profile: RetentionProfile = "31d"
    # EU AI Act mode (requirements A.3, D.13): judicial authorisation fields, two-person review.
    eu_mode: bool = False
    # Controller profile of the installation (H.23): the law its operator answers to. The
    # eu_law_enforcement profile turns EU mode on for every new deployment.
    controller_profile: ControllerProfile = "police_uk"
    # How long after a deployment ends its watchlist may still be shown beside late alerts;
    # the purge job destroys it after that, and B.8 requires it to be gone within 24 h.
    watchlist_grace_hours: float = Field(default=12.0, ge=0, le=23)
    watchlist_size_cap: int = Field(default=5000, ge=1)
    # Entry images: below the reject score refused, below the flag score flagged (B.6).
    quality_reject_below: float = 0.25
    quality_flag_below: float = 0.45
    # B.6, on their own as well as in the score (which a large blurred face still passes):
    # the face's width in the photo and the sharpness (Laplacian variance) of its aligned chip.
    # Measured on LFW (issue 22): sharp faces 88-103 px wide, sharpness 33-297 (SFace chip;
    # 11-36 on dlib's); shrunk to 80 px photos 29-36 px; blurred (sigma 6) sharpness 3-6.
    enrol_min_face_px: float = Field(default=60.0, ge=0)
    enrol_min_sharpness: float = Field(default=10.0, ge=0)
    image_max_age_days: int = 5 * 365
    image_flag_age_days: int = 2 * 365
    # Multi-photo entries (issue 11): photos per entry, and how an entry's photos become the
    # templates searched: "mean" (one re-normalised mean template), "max" (best-of: every photo
    # a candidate) or "both". None: the rule the model approval was measured with (its TPIR
    # curve, and so the expected hit rate, holds for that rule).
    max_photos_per_entry: int = Field(default=10, ge=1, le=50)
    template_rule: Literal["mean", "max", "both"] | None = None
    # Probe shots the live pipeline fuses per face, for the expected hit rate: 1 unless the
    # deployment's pipeline is known to collect more (fewer shots, fewer expected hits).
    expected_probe_shots: int = Field(default=1, ge=1, le=20)
    # The in-server retention job runs this often (B.8 needs watchlists gone within 24 h).
    purge_interval_minutes: int = Field(default=15, ge=1, le=60)
    # The console (issue 20): expected false alerts at authorisation from this many on are
    # called out as above policy; local times in this IANA zone (None: the profile's own).
    false_alert_policy: float = Field(default=1.0, ge=0)
    time_zone: str | None = Field(default=None, max_length=64)
    # The public page (issue 20): who runs the deployments and how a member of the public
    # reaches them. Empty fields take the controller profile's defaults (web/public_text.py).
    public_controller: str = ""  # e.g. "South Wales Police"
    public_contact: str = ""  # e.g. "lfr@example.police.uk, 101"
    public_complaints: str = ""  # how to complain, beyond the profile's regulator
    public_data_requests: str = ""  # how to ask for your data (subject access)
    # Languages of the public page, first the default; "cy" adds Welsh (Welsh public bodies
    # publish bilingually).
    public_languages: list[PublicLanguage] = Field(default_factory=lambda: list(ENGLISH_ONLY))

"""Typed errors shared by every layer.

Each error names the thing it is about (a file, a camera, a deployment) so that a batch run can
report it and carry on, and so an API layer can map it to a 4xx without string matching.
"""

from __future__ import annotations


class OpenLFRError(Exception):
    """Base class of every error OpenLFR raises on purpose."""

    code = "openlfr_error"

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class ModelError(OpenLFRError):
    code = "model_error"


class ModelDigestError(ModelError):
    """A model file's SHA-256 is not the one we pinned: refuse to load it."""

    code = "model_digest_mismatch"


class ImageError(OpenLFRError):
    code = "image_error"


class ImageDecodeError(ImageError):
    """Not an image, or a truncated/corrupt one."""

    code = "image_decode_error"


class ImageTooLargeError(ImageError):
    """Above the pixel or byte limit (decompression bombs included)."""

    code = "image_too_large"


class FaceError(OpenLFRError):
    code = "face_error"


class NoFaceError(FaceError):
    code = "no_face"


class MultipleFacesError(FaceError):
    code = "multiple_faces"


class FaceTooSmallError(FaceError):
    code = "face_too_small"


class ContractMismatchError(OpenLFRError):
    """Two templates made under different embedding contracts were compared."""

    code = "contract_mismatch"


class DatasetError(OpenLFRError):
    code = "dataset_error"


class SourceError(OpenLFRError):
    """A video source could not be opened or read."""

    code = "source_error"


class GovernanceError(OpenLFRError):
    """A legal or operational control refused an action (requirements sections A-H)."""

    code = "governance_error"


class RuleViolation(GovernanceError):
    """One or more rules refused an action; `.problems` lists every one, not just the first."""

    code = "rule_violation"

    def __init__(self, action: str, problems: list[str], *, source: str | None = None) -> None:
        self.action = action
        self.problems = list(problems)
        super().__init__(f"{action} refused: " + "; ".join(self.problems), source=source)


class SeparationOfDutiesError(RuleViolation):
    code = "separation_of_duties"


class PermissionDeniedError(GovernanceError):
    code = "permission_denied"


class TwoPersonRuleError(PermissionDeniedError):
    """An account an administrator alone could be holding (its password set by them, or its
    roles unconfirmed by a second administrator) is refused as one of two people."""

    code = "two_person_rule"


class InvalidStateError(GovernanceError):
    code = "invalid_state"


class CameraNotAllowedError(GovernanceError):
    """A frame or alert came from a camera that is not on the deployment's whitelist (A.2, H.22)."""

    code = "camera_not_allowed"


class NotFoundError(GovernanceError):
    code = "not_found"


class KeyUnavailableError(GovernanceError):
    """No master key, or a data key was destroyed: biometric data cannot be read or written."""

    code = "key_unavailable"


class AuditChainError(GovernanceError):
    code = "audit_chain_broken"


class CameraNotAuthorisedError(SourceError):
    """The pipeline was asked to watch a camera its deployment does not allow."""

    code = "camera_not_authorised"


class BrokerError(OpenLFRError):
    """The message broker (NATS JetStream) could not be reached or refused an operation."""

    code = "broker_error"


class BrokerUnreachable(BrokerError):
    """No broker answered (down, wrong address, network): may pass, worth retrying."""

    code = "broker_unreachable"


class BrokerRefusedError(BrokerError):
    """The broker answered and refused: wrong credentials, or a certificate that does not
    verify. Retrying cannot help; the configuration must change."""

    code = "broker_refused"


class BrokerMessageError(BrokerError):
    """A message on the broker is not one of ours (wrong version, kind or fields)."""

    code = "broker_message_invalid"


class WorkerAuthError(OpenLFRError):
    """A worker token is missing, unknown or revoked, or a worker asked beyond its assignment."""

    code = "worker_not_authorised"


class ConfigError(OpenLFRError):
    """The configuration file or a setting cannot be read or is not valid."""

    code = "config_error"


class AlertClaimError(GovernanceError):
    """A remote worker's alert claims what the centre cannot reproduce: a frame outside the
    deployment's window, another threshold, a score its crop does not give."""

    code = "alert_claim_refused"


class WorkerEnrolledError(GovernanceError):
    """The worker enrolled with another key: its identity is that key, not the token."""

    code = "worker_enrolled_with_another_key"

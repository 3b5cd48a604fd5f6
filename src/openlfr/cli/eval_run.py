"""What the scoring commands (`eval identification`, `demographics`, `report`) share: the
options that choose the engine, cache, review and operating threshold, written once, and the one
way a run opens its context, reports, and fails."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import typer

from openlfr.cli.eval_options import (
    Cache,
    DevShare,
    Engine,
    EnrolPhotos,
    Factor,
    IdentityReview,
    Json,
    MaxIdentities,
    NoCache,
    NoZnorm,
    PolicyFpir,
    PolicySize,
    ProbeShots,
    Seed,
    TemplateRule,
    Threshold,
    int_list,
    rule_option,
)
from openlfr.errors import OpenLFRError


def _shared(
    factor: Factor = 2.0,
    threshold: Threshold = None,
    as_json: Json = False,
    cache: Cache = None,
    no_cache: NoCache = False,
    engine: Engine = None,
    seed: Seed = 0,
    max_identities: MaxIdentities = None,
    identity_review: IdentityReview = "packaged",
    dev_share: DevShare = 0.3,
) -> None:
    """The shared options, as Typer reads them: a signature, never called."""


def _protocol(
    enrol_photos: EnrolPhotos = "1",
    probe_shots: ProbeShots = "1",
    template_rule: TemplateRule = "auto",
    no_znorm: NoZnorm = False,
    policy_fpir: PolicyFpir = 1e-3,
    policy_size: PolicySize = 1000,
) -> None:
    """The 1:N protocol options of the commands that run identification: a signature."""


SHARED = inspect.signature(_shared, eval_str=True).parameters
PROTOCOL = inspect.signature(_protocol, eval_str=True).parameters


@dataclass(frozen=True, slots=True)
class Protocol:
    """How identification is run: the configurations to measure and the FPIR policy."""

    enrol_photos: str
    probe_shots: str
    template_rule: str
    no_znorm: bool
    policy_fpir: float
    policy_size: int


@dataclass
class EvalRun:
    """One scoring command's shared options. The engine opens on first use of `ctx`, so a bad
    command-specific option is refused before any model loads."""

    threshold: float | None
    as_json: bool
    cache: Path | None
    no_cache: bool
    engine: str | None
    seed: int
    max_identities: int | None
    identity_review: str
    factor: float
    dev_share: float = 0.3
    protocol: Protocol | None = None
    _ctx: Any = field(default=None, repr=False)

    @property
    def ctx(self) -> Any:
        if self._ctx is None:
            self._ctx = open_context(
                self.engine,
                self.cache,
                self.no_cache,
                self.as_json,
                self.identity_review,
                split=(self.seed, self.dev_share),
            )
        return self._ctx

    @property
    def default_threshold(self) -> float:
        """`--threshold`, or else the engine's own default."""
        return float(self.threshold) if self.threshold is not None else engine_default(self.ctx)

    def configurations(
        self, labels: list[Path], single_floors: dict[str, float | None] | None = None
    ) -> Any:
        """The protocol's configurations, checked (before any model loads)."""
        from openlfr.eval.runner import ConfigOptions

        p = self.protocol
        assert p is not None, "a command without the protocol options runs no identification"
        return ConfigOptions(
            enrol_photos=tuple(int_list(p.enrol_photos, "enrolment photos")),
            probe_shots=tuple(int_list(p.probe_shots, "probe shots")),
            labels=tuple(labels),
            single_floors=single_floors or {},
            rule=rule_option(p.template_rule),  # type: ignore[arg-type]
            factor=self.factor,
            znorm=not p.no_znorm,
        )

    def identify(
        self, data: Path, sizes: list[int], nonmated: Path | None, configurations: Any
    ) -> Any:
        from openlfr.eval.runner import run_identification

        assert self.protocol is not None
        return run_identification(
            self.ctx,
            data,
            sizes,
            extra_nonmated=nonmated,
            policy_fpir=self.protocol.policy_fpir,
            policy_size=self.protocol.policy_size,
            seed=self.seed,
            max_identities=self.max_identities,
            default_threshold=self.default_threshold,
            configurations=configurations,
        )

    def finish(
        self,
        ident: Any,
        demo: list[Any],
        provenance: dict[str, str],
        out: Path | None,
        camera_like: dict[str, Any] | None = None,
    ) -> None:
        """Build the report; write it to OUT.html/OUT.json if asked; print JSON or a summary."""
        from openlfr.eval.report import build_report, report_json
        from openlfr.eval.report_html import write_report

        ctx = self.ctx
        if ctx.review is not None:
            # In the provenance, so the approval governance stores names the data fixes it rests on.
            provenance["identity review"] = f"{ctx.review.source} sha256:{ctx.review.digest[:16]}"
        rep = build_report(
            contract=ctx.engine.contract.to_dict(),
            engine_name=ctx.engine.name,
            engine_default=self.default_threshold,
            ident=ident,
            demo=demo,
            provenance=provenance,
        )
        rep["split"] = ctx.split.describe(ctx.parts)
        if camera_like is not None:
            from openlfr.eval.camera_like import attach

            attach(rep, camera_like)
        rep["identity_review"] = (
            {"applied": False}
            if ctx.review is None
            else {
                "applied": True,
                "file": ctx.review.source,
                "sha256": ctx.review.digest,
                "by_dataset": ctx.reviewed,
            }
        )
        if out is not None:
            j, h = write_report(out, rep, ident, demo)
            typer.echo(f"report: {h} and {j}", err=self.as_json)
        if self.as_json:
            typer.echo(report_json(rep))
        else:
            from openlfr.cli.eval_summary import print_summary

            print_summary(rep)
            if "camera_like" in rep:
                from openlfr.eval.camera_like import summary_lines

                typer.echo("\n".join(summary_lines(rep["camera_like"])))


def open_context(
    engine: str | None,
    cache: Path | None,
    no_cache: bool,
    quiet: bool,
    review: str,
    split: tuple[int, float] = (0, 0.0),
) -> Any:
    """The evaluation context: the engine, the template cache, the identity review and the
    person-disjoint development / test split (seed, development share)."""
    from openlfr.config import get_settings
    from openlfr.eval.review import load_review
    from openlfr.eval.runner import EvalContext
    from openlfr.eval.split import PersonSplit
    from openlfr.vision.engine import build_engine

    eng = build_engine(get_settings().vision, engine=engine)
    rev = None if review == "none" else load_review(None if review == "packaged" else Path(review))
    return EvalContext.create(
        eng,
        cache,
        use_cache=not no_cache,
        progress=not quiet,
        review=rev,
        split=PersonSplit(*split),
    )


def engine_default(ctx: Any) -> float:
    from openlfr.vision.engine import default_threshold

    return float(default_threshold(ctx.engine.contract))


def fail(exc: OpenLFRError) -> NoReturn:
    typer.secho(f"error [{exc.code}]: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def scoring_command(
    app: typer.Typer, name: str, *, protocol: dict[str, Any] | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register `fn(run, **its own options)` as `openlfr eval NAME`, with the shared options added
    to what Typer sees and gathered into `run`; a typed error exits 2 with its code. `protocol`
    (defaults to override, or {}) adds the 1:N protocol options as `run.protocol`."""
    extra = dict(SHARED)
    if protocol is not None:
        extra |= {
            k: p.replace(default=protocol[k]) if k in protocol else p for k, p in PROTOCOL.items()
        }

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(fn, eval_str=True)
        params = [p for p in own.parameters.values() if p.name != "run"] + list(extra.values())

        @functools.wraps(fn)
        def command(**options: Any) -> None:
            proto = None
            if protocol is not None:
                proto = Protocol(**{k: options.pop(k) for k in PROTOCOL})
            run = EvalRun(**{k: options.pop(k) for k in SHARED}, protocol=proto)
            try:
                fn(run, **options)
            except OpenLFRError as exc:
                fail(exc)

        # Typer reads the signature and the annotations: give it the merged ones.
        command.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params} | {"return": None}
        app.command(name)(command)
        return command

    return register

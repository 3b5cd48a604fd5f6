"""The live recognition pipeline: sources, tracking, best shots, decisions, alerts.

Knows nothing of databases or the web: alerts leave through an `AlertSink`.
"""

from openlfr.pipeline.alerts import (
    Alert,
    AlertSink,
    JsonlAlertSink,
    MemoryAlertSink,
    pixelate_faces,
)
from openlfr.pipeline.bestshot import QualityGate, ShotPolicy
from openlfr.pipeline.runner import Counters, Pipeline, PipelineConfig, RunSummary
from openlfr.pipeline.sources import (
    Backoff,
    BufferedSource,
    CameraSource,
    Frame,
    FrameSource,
    ImageFolderSource,
    PyAVSource,
    open_source,
)

__all__ = [
    "Alert",
    "AlertSink",
    "Backoff",
    "BufferedSource",
    "CameraSource",
    "Counters",
    "Frame",
    "FrameSource",
    "ImageFolderSource",
    "JsonlAlertSink",
    "MemoryAlertSink",
    "Pipeline",
    "PipelineConfig",
    "PyAVSource",
    "QualityGate",
    "RunSummary",
    "ShotPolicy",
    "open_source",
    "pixelate_faces",
]

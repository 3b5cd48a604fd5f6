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
from openlfr.pipeline.multicam import CameraJob, MultiCameraRunner, MultiRunSummary, share_engine
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
    "CameraJob",
    "CameraSource",
    "Counters",
    "Frame",
    "FrameSource",
    "ImageFolderSource",
    "JsonlAlertSink",
    "MemoryAlertSink",
    "MultiCameraRunner",
    "MultiRunSummary",
    "Pipeline",
    "PipelineConfig",
    "PyAVSource",
    "QualityGate",
    "RunSummary",
    "ShotPolicy",
    "open_source",
    "pixelate_faces",
    "share_engine",
]

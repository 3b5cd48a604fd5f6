"""Face models: detection, alignment, embedding, quality, and the embedding contract."""

from openlfr.vision.contract import EmbeddingContract, Template, fuse
from openlfr.vision.engine import FaceEngine, FaceResult, build_engine
from openlfr.vision.imageio import ImageLimits, load_image
from openlfr.vision.types import Aligner, Detection, Detector, Embedder, Image

__all__ = [
    "Aligner",
    "Detection",
    "Detector",
    "Embedder",
    "EmbeddingContract",
    "FaceEngine",
    "FaceResult",
    "Image",
    "ImageLimits",
    "Template",
    "build_engine",
    "fuse",
    "load_image",
]

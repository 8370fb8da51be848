"""The explainer engine: torch only, no widget imports."""

from .adversarial import Push, push, smallest_flip
from .audit import AuditResult, audit
from .concepts import ConceptMaps, deep_feature_factorization
from .errors import (
    ExplainError,
    ImageError,
    LayerError,
    MethodError,
    ModelCallError,
    ModelChangedError,
    ModelOutputError,
    TargetError,
)
from .explain import explain
from .faithfulness import confidence_change, deletion_curve, faithfulness, insertion_curve
from .gradcam_batch import grad_cam_batch
from .inputs import prepare_image
from .layers import INPUT, LayerInfo
from .method_benchmark import MethodBenchmark, benchmark_methods
from .methods import Method, all_methods, get_method, register
from .random_logit import random_logit
from .road import RoadCurve, road, road_curves
from .sanity import cascading_randomisation
from .sensitivity import sensitivity
from .session import Session
from .target_picking import box_at, embedding_of, output_kind, region_at
from .targets import Box, ClassScore, Contrast, Region, Similarity, Target

__all__ = [
    "ConceptMaps",
    "deep_feature_factorization",
    "AuditResult",
    "Box",
    "ClassScore",
    "Contrast",
    "Region",
    "Similarity",
    "Target",
    "box_at",
    "embedding_of",
    "output_kind",
    "region_at",
    "INPUT",
    "ExplainError",
    "ImageError",
    "LayerError",
    "LayerInfo",
    "Method",
    "MethodBenchmark",
    "MethodError",
    "ModelCallError",
    "ModelChangedError",
    "ModelOutputError",
    "Push",
    "RoadCurve",
    "Session",
    "TargetError",
    "all_methods",
    "audit",
    "benchmark_methods",
    "cascading_randomisation",
    "confidence_change",
    "deletion_curve",
    "explain",
    "faithfulness",
    "grad_cam_batch",
    "get_method",
    "insertion_curve",
    "prepare_image",
    "push",
    "random_logit",
    "register",
    "sensitivity",
    "smallest_flip",
    "road",
    "road_curves",
]

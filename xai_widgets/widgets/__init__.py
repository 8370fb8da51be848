"""anywidget classes: traits in, bytes out; no attribution maths here."""

from .cam_steps import GradCAMSteps
from .camera import Camera
from .compare import Compare
from .compare_models import CompareModels
from .concepts import Concepts
from .explorer import Explorer
from .feature_maps import FeatureMaps
from .gallery import Gallery

__all__ = ["Camera", "Compare", "CompareModels", "Concepts", "Explorer", "FeatureMaps", "Gallery", "GradCAMSteps"]

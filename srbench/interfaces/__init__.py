"""The contracts between the core and plugins: one module per kind of component."""

from .adversarial_loss import AdversarialLoss
from .dataset import Dataset, Image, Split
from .degradation import Degradation, DegradationParams
from .method import Method, MethodContext
from .metric import Metric, MetricSample
from .networks import DiscriminatorFactory, GeneratorFactory, GeneratorSpec

__all__ = [
    "AdversarialLoss", "Dataset", "Degradation", "DegradationParams", "DiscriminatorFactory",
    "GeneratorFactory", "GeneratorSpec", "Image", "Method", "MethodContext", "Metric", "MetricSample", "Split",
]

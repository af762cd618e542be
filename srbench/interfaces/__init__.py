"""The contracts between the core and plugins: one module per kind of component."""

from .adversarial_loss import AdversarialLoss
from .dataset import Dataset, Image, Split
from .degradation import Degradation, DegradationParams
from .method import Method, MethodContext
from .metric import Check, Metric, MetricSample
from .networks import DiscriminatorFactory, GeneratorFactory, GeneratorSpec

__all__ = [
    "AdversarialLoss", "Check", "Dataset", "Degradation", "DegradationParams", "DiscriminatorFactory",
    "GeneratorFactory", "GeneratorSpec", "Image", "Method", "MethodContext", "Metric", "MetricSample", "Split",
]

"""skquant: colour quantization as a scikit-learn estimator."""

__version__ = "0.1.0.dev0"

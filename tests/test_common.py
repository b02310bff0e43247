"""scikit-learn's estimator checks, for every configuration users rely on."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skquant import ColorQuantizer

ESTIMATORS = [
    ColorQuantizer(),
    ColorQuantizer(backend="opencv"),
    ColorQuantizer(histogram_bins=None),
]


# Too few distinct colours (a 1-sample fit) is a documented warning, not an error.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)

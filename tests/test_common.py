"""scikit-learn's estimator checks, for every configuration users rely on."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skquant import ColorQuantizer

ESTIMATORS = [
    ColorQuantizer(),
    ColorQuantizer(backend="opencv"),
    ColorQuantizer(histogram_bins=None),
]


def expected_failed_checks(estimator):
    # As for sklearn's own KMeans: k-means++ seeding draws different points
    # when samples are repeated instead of weighted, so the palettes differ.
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "k-means++ seeding differs between repeated and weighted samples"
        )
    }


# Too few distinct colours (a 1-sample fit) is a documented warning, not an error.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)

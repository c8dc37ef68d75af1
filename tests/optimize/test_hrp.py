"""hrp against PyPortfolioOpt, skfolio, and a loop-based rendering of the paper's algorithm."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.cluster import hierarchy as sch

from riskbook.datasets import load_sp500
from riskbook.errors import OptimizationError
from riskbook.optimize.hrp import LINKAGE_METHODS, hrp, quasi_diagonal_order

# The package re-exports the function under the module's name; patch the module itself.
hrp_module = importlib.import_module("riskbook.optimize.hrp")


@pytest.fixture(scope="module")
def sp500_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def random_cov(seed: int, n: int, *, t: int | None = None) -> np.ndarray:
    """Sample covariance of a noisy 3-factor model with heterogeneous volatilities."""
    rng = np.random.default_rng(seed)
    t = t or 4 * n + 10
    factors = rng.standard_normal((t, 3))
    loadings = rng.standard_normal((3, n)) * rng.uniform(0.2, 1.5, 3)[:, None]
    returns = factors @ loadings + rng.standard_normal((t, n)) * rng.uniform(0.3, 2.0, n)
    return np.cov(returns, rowvar=False)


def labelled(cov: np.ndarray) -> pd.DataFrame:
    names = [f"S{i:02d}" for i in range(cov.shape[0])]
    return pd.DataFrame(cov, index=names, columns=names)


# --- An independent rendering of Lopez de Prado (2016), written from the paper's description ---
# Loops and lists on purpose: it shares no code or data structure with riskbook's vectorised
# implementation.


def paper_hrp(cov: np.ndarray) -> np.ndarray:
    n = cov.shape[0]
    corr = [[cov[i][j] / np.sqrt(cov[i][i] * cov[j][j]) for j in range(n)] for i in range(n)]
    for i in range(n):
        corr[i][i] = 1.0
    dist = [
        [np.sqrt(max(0.0, min(1.0, (1.0 - corr[i][j]) / 2.0))) for j in range(n)] for i in range(n)
    ]
    # The paper hands the square distance matrix to scipy's linkage, which reads its rows as
    # observations: clusters form on the Euclidean distance between columns of ``dist``.
    condensed = []
    for i in range(n):
        for j in range(i + 1, n):
            condensed.append(np.sqrt(sum((dist[i][k] - dist[j][k]) ** 2 for k in range(n))))
    link = sch.linkage(np.array(condensed), "single")
    order = paper_quasi_diag(link, n)
    return paper_rec_bipart(cov, order)


def paper_quasi_diag(link: np.ndarray, n: int) -> list[int]:
    """Replace every cluster id by its two members, left then right, until only leaves remain."""
    items = [int(link[-1][0]), int(link[-1][1])]
    while max(items) >= n:
        expanded = []
        for item in items:
            if item >= n:
                row = link[item - n]
                expanded += [int(row[0]), int(row[1])]
            else:
                expanded.append(item)
        items = expanded
    return items


def paper_cluster_var(cov: np.ndarray, items: list[int]) -> float:
    inv = [1.0 / cov[i][i] for i in items]
    total = sum(inv)
    w = [x / total for x in inv]
    return sum(w[a] * cov[i][j] * w[b] for a, i in enumerate(items) for b, j in enumerate(items))


def paper_rec_bipart(cov: np.ndarray, order: list[int]) -> np.ndarray:
    w = dict.fromkeys(order, 1.0)
    clusters = [order]
    while clusters:
        halves = []
        for c in clusters:
            if len(c) > 1:
                halves += [c[: len(c) // 2], c[len(c) // 2 :]]
        for k in range(0, len(halves), 2):
            left, right = halves[k], halves[k + 1]
            v_left, v_right = paper_cluster_var(cov, left), paper_cluster_var(cov, right)
            alpha = 1.0 - v_left / (v_left + v_right)
            for i in left:
                w[i] *= alpha
            for i in right:
                w[i] *= 1.0 - alpha
        clusters = halves
    return np.array([w[i] for i in range(cov.shape[0])])


# --- The paper's convention -----------------------------------------------------------------


def test_distance_of_distances_matches_the_paper_on_bundled_data(sp500_cov):
    ours = hrp(sp500_cov, distance_of_distances=True)
    expected = paper_hrp(sp500_cov.to_numpy())
    np.testing.assert_allclose(ours.to_numpy(), expected, rtol=0, atol=1e-12)
    # The two conventions give different portfolios on real data (anchors.md).
    assert np.abs(ours - hrp(sp500_cov)).max() > 1e-3


@pytest.mark.parametrize("seed", range(6))
def test_distance_of_distances_matches_the_paper_on_random_matrices(seed):
    cov = random_cov(seed, n=7 + 3 * seed)
    np.testing.assert_allclose(
        hrp(cov, distance_of_distances=True), paper_hrp(cov), rtol=0, atol=1e-12
    )


def papers_ten_asset_recipe(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """5 independent series plus 5 copies with noise (sigma 0.25), each copy of a distinct base."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((10_000, 5))
    originals = rng.permutation(5)
    copies = base[:, originals] + rng.normal(0.0, 0.25, size=(10_000, 5))
    return np.cov(np.hstack([base, copies]), rowvar=False), originals


@pytest.mark.parametrize("distance_of_distances", [False, True])
@pytest.mark.parametrize("seed", [12345, 7])
def test_papers_example_pairs_every_copy_with_its_original(seed, distance_of_distances):
    cov, originals = papers_ten_asset_recipe(seed)
    order = quasi_diagonal_order(cov, distance_of_distances=distance_of_distances).tolist()
    for copy, original in enumerate(originals, start=5):
        assert abs(order.index(copy) - order.index(int(original))) == 1
    # The first five merges of the tree are exactly the five (original, copy) pairs.
    from riskbook.optimize.hrp import _angular, _condensed_correlation

    var = np.diag(cov)
    condensed = _angular(_condensed_correlation(cov, 1 / np.sqrt(var)))
    first = sch.linkage(condensed, "single")[:5, :2].astype(int)
    assert {tuple(sorted(pair)) for pair in first.tolist()} == {
        (int(o), c) for c, o in enumerate(originals, start=5)
    }
    w = hrp(cov, distance_of_distances=distance_of_distances)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w > 0).all()


# --- The libraries' convention ----------------------------------------------------------------


def pyportfolioopt_hrp(cov: pd.DataFrame, linkage: str) -> pd.Series:
    pypfopt = pytest.importorskip("pypfopt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Only the covariance: with returns too, PPO ignores the covariance (PPO #328).
        raw = pypfopt.HRPOpt(cov_matrix=cov).optimize(linkage_method=linkage)
    return pd.Series(raw).reindex(cov.columns)


@pytest.mark.parametrize("linkage", ["single", "average", "complete", "ward"])
def test_matches_pyportfolioopt_on_bundled_data(sp500_cov, linkage):
    ours = hrp(sp500_cov, linkage=linkage)
    theirs = pyportfolioopt_hrp(sp500_cov, linkage)
    assert list(ours.index) == list(sp500_cov.columns)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(8))
def test_matches_pyportfolioopt_on_random_matrices(seed):
    cov = labelled(random_cov(100 + seed, n=3 + 5 * seed))
    for linkage in ("single", "average"):
        ours = hrp(cov.to_numpy(), linkage=linkage)
        theirs = pyportfolioopt_hrp(cov, linkage).to_numpy()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def skfolio_hrp(cov: np.ndarray, *, linkage: str, optimal_ordering: bool) -> np.ndarray:
    """skfolio's HRP on exactly this covariance (a prior whose covariance is fixed)."""
    pytest.importorskip("skfolio")
    from skfolio import RiskMeasure
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.distance import CovarianceDistance
    from skfolio.moments import BaseCovariance
    from skfolio.optimization import HierarchicalRiskParity
    from skfolio.prior import EmpiricalPrior
    from skfolio.seriation import HierarchicalSeriation

    class FixedCovariance(BaseCovariance):
        def __init__(self, covariance=None):
            super().__init__(nearest=False)
            self.covariance = covariance

        def fit(self, X, y=None, **fit_params):
            self._set_covariance(np.asarray(self.covariance))
            return self

    model = HierarchicalRiskParity(
        risk_measure=RiskMeasure.VARIANCE,
        prior_estimator=EmpiricalPrior(covariance_estimator=FixedCovariance(cov)),
        distance_estimator=CovarianceDistance(covariance_estimator="precomputed"),
        seriation_estimator=HierarchicalSeriation(
            hierarchical_clustering_estimator=HierarchicalClustering(
                linkage_method=LinkageMethod(linkage)
            ),
            optimal_ordering=optimal_ordering,
        ),
    )
    # The returns only feed skfolio's expected returns, which HRP does not use.
    placeholder = np.random.default_rng(0).standard_normal((50, cov.shape[0]))
    return model.fit(placeholder).weights_


@pytest.mark.parametrize("seed", range(4))
def test_matches_skfolio_single_linkage(sp500_cov, seed):
    cov = sp500_cov.to_numpy() if seed == 0 else random_cov(200 + seed, n=6 + 9 * seed)
    theirs = skfolio_hrp(cov, linkage="single", optimal_ordering=False)
    np.testing.assert_allclose(hrp(cov), theirs, rtol=0, atol=1e-10)


def test_matches_skfolio_defaults_ward_with_optimal_ordering(sp500_cov):
    cov = sp500_cov.to_numpy()
    theirs = skfolio_hrp(cov, linkage="ward", optimal_ordering=True)
    ours = hrp(cov, linkage="ward", optimal_ordering=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    assert np.abs(ours - hrp(cov, linkage="ward")).max() > 1e-6  # the ordering matters


# --- Properties and small cases -----------------------------------------------------------------


def test_two_assets_get_inverse_variance_and_one_asset_everything():
    cov = np.array([[0.04, 0.01], [0.01, 0.01]])
    np.testing.assert_allclose(hrp(cov), [0.2, 0.8], rtol=1e-14)
    np.testing.assert_array_equal(hrp(np.array([[0.3]])), [1.0])
    single = hrp(pd.DataFrame([[0.3]], index=["A"], columns=["A"]))
    assert single.to_dict() == {"A": 1.0}


def test_uncorrelated_assets_pair_off_by_quasi_diagonal_order():
    var = np.array([1.0, 2.0, 3.0, 4.0])
    # Independent assets: distances all equal, single linkage merges in index order.
    w = hrp(np.diag(var))
    order = quasi_diagonal_order(np.diag(var)).tolist()
    left, right = order[:2], order[2:]

    def cluster_var(items):
        inv = 1 / var[items]
        return 1 / inv.sum()

    alpha = 1 - cluster_var(left) / (cluster_var(left) + cluster_var(right))
    expected = np.empty(4)
    for half, share in ((left, alpha), (right, 1 - alpha)):
        inner = (1 / var[half]) / (1 / var[half]).sum()
        expected[half] = share * inner
    np.testing.assert_allclose(w, expected, rtol=1e-14)


def test_scale_invariance_and_kinds(sp500_cov):
    base = hrp(sp500_cov)
    np.testing.assert_allclose(hrp(252 * sp500_cov).to_numpy(), base.to_numpy(), rtol=1e-12)
    as_array = hrp(sp500_cov.to_numpy())
    assert isinstance(as_array, np.ndarray)
    np.testing.assert_array_equal(as_array, base.to_numpy())
    assert base.name == "weight"


def test_singular_covariance_with_a_duplicate_asset_is_fine(sp500_cov):
    returns = load_sp500().returns().iloc[-1000:]
    returns = returns.assign(AAPL_COPY=returns["AAPL"])
    cov = returns.cov()
    assert np.linalg.matrix_rank(cov.to_numpy()) == cov.shape[0] - 1
    w = hrp(cov)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w > 0).all()
    # The copy is the original's nearest neighbour (distance 0), so they sit side by side.
    order = [cov.columns[i] for i in quasi_diagonal_order(cov)]
    assert abs(order.index("AAPL") - order.index("AAPL_COPY")) == 1
    theirs = pyportfolioopt_hrp(cov, "single")
    np.testing.assert_allclose(w.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("linkage", sorted(LINKAGE_METHODS))
def test_every_scipy_linkage_runs_and_leaves_match_scipy(linkage):
    cov = random_cov(7, n=40)
    w = hrp(cov, linkage=linkage)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w > 0).all()
    from riskbook.optimize.hrp import _angular, _condensed_correlation, _leaves

    condensed = _angular(_condensed_correlation(cov, 1 / np.sqrt(np.diag(cov))))
    Z = sch.linkage(condensed, linkage)
    np.testing.assert_array_equal(_leaves(Z, 40), sch.leaves_list(Z))


def test_row_by_row_and_vectorised_paths_agree_bit_for_bit(monkeypatch):
    cov = random_cov(3, n=60)
    vectorised = hrp(cov)
    monkeypatch.setattr(hrp_module, "_ROW_LOOP_MIN", 1)
    np.testing.assert_array_equal(hrp(cov), vectorised)
    np.testing.assert_allclose(
        hrp(cov, distance_of_distances=True), paper_hrp(cov), rtol=0, atol=1e-12
    )


# --- Bad input --------------------------------------------------------------------------------


def test_unknown_linkage_is_named():
    with pytest.raises(OptimizationError) as info:
        hrp(np.eye(3), linkage="wards")
    assert info.value.parameter == "linkage"


def test_zero_variance_asset_is_named(sp500_cov):
    cov = sp500_cov.copy()
    cov.loc["KO", :] = 0.0
    cov.loc[:, "KO"] = 0.0
    with pytest.raises(OptimizationError) as info:
        hrp(cov)
    assert info.value.symbol == "KO"


def test_correlation_outside_unit_interval_is_not_psd():
    cov = pd.DataFrame(
        [[1.0, 1.5, 0.0], [1.5, 1.0, 0.0], [0.0, 0.0, 1.0]], index=list("abc"), columns=list("abc")
    )
    with pytest.raises(OptimizationError, match="not positive semidefinite") as info:
        hrp(cov)
    assert info.value.symbol == "a"


def test_negative_cluster_variance_is_not_psd():
    # Every correlation is inside [-1, 1], but two triples of mutually anti-correlated assets
    # (-0.6) cannot coexist: each triple's inverse-variance portfolio has a negative variance.
    corr = np.full((6, 6), -0.95)
    for block in (slice(0, 3), slice(3, 6)):
        corr[block, block] = -0.6
    np.fill_diagonal(corr, 1.0)
    assert np.linalg.eigvalsh(corr)[0] < 0
    assert set(quasi_diagonal_order(corr).tolist()[:3]) == {0, 1, 2}
    with pytest.raises(OptimizationError, match="not positive semidefinite"):
        hrp(corr)


@pytest.mark.parametrize(
    "bad",
    [np.ones((2, 3)), np.array([[1.0, np.nan], [np.nan, 1.0]]), np.array([[1.0, 0.2], [0.3, 1.0]])],
)
def test_invalid_matrices(bad):
    with pytest.raises(OptimizationError) as info:
        hrp(bad)
    assert info.value.parameter == "cov"

"""nco and correlation_clusters: cluster recovery, closed-form identities, options, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskbook.datasets import load_sp500
from riskbook.errors import OptimizationError
from riskbook.optimize.nco import correlation_clusters, nco, silhouette_score
from riskbook.optimize.risk_parity import risk_parity


@pytest.fixture(scope="module")
def sp500_cov() -> pd.DataFrame:
    return load_sp500().returns().iloc[-1000:].cov()


def block_cov(sizes: list[int], seed: int, *, within: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Block-diagonal covariance (uncorrelated blocks, correlated inside) and its block labels."""
    rng = np.random.default_rng(seed)
    blocks, labels = [], []
    for b, size in enumerate(sizes):
        corr = np.full((size, size), within)
        noise = rng.uniform(-0.15, 0.15, (size, size))
        corr += 0.5 * (noise + noise.T)
        np.fill_diagonal(corr, 1.0)
        vol = rng.uniform(0.1, 0.5, size)
        blocks.append(corr * np.outer(vol, vol))
        labels += [b] * size
    n = sum(sizes)
    cov = np.zeros((n, n))
    start = 0
    for block in blocks:
        stop = start + block.shape[0]
        cov[start:stop, start:stop] = block
        start = stop
    return cov, np.array(labels)


def min_variance_closed_form(cov: np.ndarray) -> np.ndarray:
    x = np.linalg.solve(cov, np.ones(cov.shape[0]))
    return x / x.sum()


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(((a[:, None] == a[None, :]) == (b[:, None] == b[None, :])).all())


# --- Clustering ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_block_structure_is_recovered_even_when_shuffled(seed):
    cov, truth = block_cov([4, 3, 5, 6][: 2 + seed % 3], seed)
    perm = np.random.default_rng(seed).permutation(cov.shape[0])
    found = correlation_clusters(cov[np.ix_(perm, perm)])
    assert same_partition(found, truth[perm])
    assert found[0] == 0  # numbered by first appearance
    assert sorted(set(found.tolist())) == list(range(found.max() + 1))


def test_fixed_number_of_clusters_and_labelled_output(sp500_cov):
    found = correlation_clusters(sp500_cov, n_clusters=4)
    assert isinstance(found, pd.Series)
    assert list(found.index) == list(sp500_cov.columns)
    assert found.nunique() == 4
    # Oil producers cluster together on any reasonable reading of these 20 stocks.
    assert found["CVX"] == found["XOM"]


def test_silhouette_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(c, 1.0, (9, 3)) for c in (0.0, 4.0, 9.0)])
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    for k_labels in (np.repeat([0, 1, 2], 9), rng.integers(0, 4, 27), np.r_[0, np.ones(26, int)]):
        labels = np.unique(k_labels, return_inverse=True)[1]
        expected = metrics.silhouette_score(d, labels, metric="precomputed")
        assert silhouette_score(d, labels) == pytest.approx(expected, abs=1e-12)


def test_number_of_clusters_maximises_the_silhouette(sp500_cov):
    from scipy.cluster import hierarchy as sch
    from scipy.spatial.distance import squareform

    from riskbook.optimize.nco import _feature_distances, _first_appearance

    S = sp500_cov.to_numpy()
    chosen = np.asarray(correlation_clusters(S))
    E = _feature_distances(S, np.diag(S))
    Z = sch.linkage(squareform(E, checks=False), "ward")
    scores = {
        k: silhouette_score(E, _first_appearance(sch.fcluster(Z, k, "maxclust")))
        for k in range(2, 11)
    }
    best = max(scores, key=lambda k: (scores[k], -k))
    assert chosen.max() + 1 == best


@pytest.mark.parametrize("seed", range(5))
def test_tree_cuts_match_scipy_fcluster(seed):
    from scipy.cluster import hierarchy as sch
    from scipy.spatial.distance import squareform

    from riskbook.optimize.hrp import leaf_layout
    from riskbook.optimize.nco import _cuts, _feature_distances

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((60, 25)) + rng.standard_normal((60, 3)) @ rng.standard_normal((3, 25))
    S = np.cov(a, rowvar=False)
    Z = sch.linkage(squareform(_feature_distances(S, np.diag(S)), checks=False), "ward")
    layout = leaf_layout(Z, 25)
    for k, ours in enumerate(_cuts(Z, layout, 25), start=2):
        assert ours.max() + 1 == k
        assert same_partition(ours, sch.fcluster(Z, k, "maxclust"))
    assert k == 25


# --- NCO ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_block_diagonal_closed_form_equals_global_minimum_variance(seed):
    cov, _ = block_cov([3, 4, 5], seed)
    np.testing.assert_allclose(nco(cov), min_variance_closed_form(cov), rtol=0, atol=1e-12)


def test_block_diagonal_closed_form_max_sharpe_equals_global_tangency():
    cov, _ = block_cov([3, 4, 5], 9)
    mu = np.random.default_rng(9).uniform(0.02, 0.1, 12)
    x = np.linalg.solve(cov, mu)
    tangency = x / x.sum()
    assert all(x[block].sum() > 0 for block in (slice(0, 3), slice(3, 7), slice(7, 12)))
    np.testing.assert_allclose(nco(cov, mu), tangency, rtol=0, atol=1e-12)


def test_one_cluster_equals_the_intra_optimizer(sp500_cov):
    S = sp500_cov.to_numpy()
    np.testing.assert_allclose(
        nco(S, n_clusters=1), min_variance_closed_form(S), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        nco(S, n_clusters=1, intra="risk_parity"), risk_parity(S), rtol=0, atol=1e-14
    )


def test_hand_computed_two_level_portfolio(sp500_cov):
    S = sp500_cov.to_numpy()
    clusters = np.asarray(correlation_clusters(S))
    w = nco(S, intra="inverse_variance", inter="equal_weight")
    k = clusters.max() + 1
    expected = np.zeros(20)
    for c in range(k):
        idx = clusters == c
        inv = 1 / np.diag(S)[idx]
        expected[idx] = inv / inv.sum() / k
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)


def test_reduced_covariance_feeds_the_inter_optimizer(sp500_cov):
    S = sp500_cov.to_numpy()
    seen = {}

    def spy(cov):
        seen["cov"] = cov
        return np.full(cov.shape[0], 1.0 / cov.shape[0])

    nco(S, n_clusters=3, intra="inverse_volatility", inter=spy)
    clusters = np.asarray(correlation_clusters(S, n_clusters=3))
    W = np.zeros((20, 3))
    for c in range(3):
        idx = clusters == c
        inv = 1 / np.sqrt(np.diag(S)[idx])
        W[idx, c] = inv / inv.sum()
    np.testing.assert_allclose(seen["cov"], W.T @ S @ W, rtol=1e-13, atol=0)


def test_weights_sum_to_one_and_kinds(sp500_cov):
    mu = load_sp500().returns().iloc[-1000:].mean() * 252
    for kwargs in ({}, {"intra": "hrp", "inter": "risk_parity"}, {"n_clusters": 5}):
        w = nco(sp500_cov, **kwargs)
        assert isinstance(w, pd.Series)
        assert list(w.index) == list(sp500_cov.columns)
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.isfinite(w).all()
    w_long = nco(sp500_cov, intra="risk_parity", inter="risk_parity")
    assert (w_long > 0).all()
    shuffled = mu.sample(frac=1.0, random_state=2)
    np.testing.assert_allclose(
        nco(sp500_cov, mu=shuffled, intra="inverse_volatility").to_numpy(),
        nco(sp500_cov, mu=mu, intra="inverse_volatility").to_numpy(),
        rtol=1e-14,
    )


def test_min_variance_name_resolves_to_the_riskbook_optimizer(sp500_cov):
    optimize = pytest.importorskip("riskbook.optimize")
    if not callable(getattr(optimize, "min_variance", None)):
        pytest.skip("riskbook.optimize.min_variance is not part of this build yet")
    w = nco(sp500_cov, intra="min_variance", inter="min_variance")
    assert (w > -1e-9).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-8)


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"n_clusters": 21}, "n_clusters"),
        ({"n_clusters": 2.5}, "n_clusters"),
        ({"max_clusters": 0}, "max_clusters"),
        ({"intra": "no_such_optimizer"}, "intra"),
        ({"inter": 3}, "inter"),
        ({"mu": np.ones(3)}, "mu"),
    ],
)
def test_bad_options_are_named(sp500_cov, kwargs, parameter):
    with pytest.raises(OptimizationError) as info:
        nco(sp500_cov.to_numpy(), **kwargs)
    assert info.value.parameter == parameter


def test_singular_cluster_with_a_closed_form_is_refused(sp500_cov):
    returns = load_sp500().returns().iloc[-1000:]
    cov = returns.assign(XOM2=returns["XOM"]).cov()
    with pytest.raises(OptimizationError, match="not positive definite") as info:
        nco(cov)
    assert info.value.parameter == "intra"
    # A robust intra optimizer handles the duplicate.
    assert nco(cov, intra="hrp").sum() == pytest.approx(1.0, abs=1e-12)


def test_negative_tangency_denominator_is_refused():
    cov = np.diag([0.04, 0.09])
    with pytest.raises(OptimizationError, match="maximum Sharpe"):
        nco(cov, np.array([-0.05, -0.02]), n_clusters=1)


def test_callable_returning_the_wrong_size_is_refused():
    with pytest.raises(OptimizationError) as info:
        nco(np.eye(4), n_clusters=1, intra=lambda cov: np.ones(2) / 2)
    assert info.value.parameter == "intra"


def test_zero_variance_asset_is_named(sp500_cov):
    cov = sp500_cov.copy()
    cov.loc["PEP", :] = 0.0
    cov.loc[:, "PEP"] = 0.0
    with pytest.raises(OptimizationError) as info:
        nco(cov)
    assert info.value.symbol == "PEP"

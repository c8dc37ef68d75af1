"""Parsing, validation and solver-free feasibility checks of portfolio constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from riskbook.errors import InfeasibleError, OptimizationError
from riskbook.optimize.constraints import (
    box_budget_argmax,
    box_budget_range,
    build_constraints,
    check_weights,
    explain_infeasibility,
    exposure_constraints,
    optimal_face,
    parse_bounds,
    parse_groups,
    parse_linear_constraints,
    reachable_range,
)

SYMS = ["A", "B", "C", "D"]


# --- bounds -----------------------------------------------------------------------------------


def test_bounds_forms():
    lo, hi = parse_bounds(None, 3)
    assert np.isneginf(lo).all() and np.isposinf(hi).all()
    lo, hi = parse_bounds(0.4, 3)  # a scalar is a long-only cap
    np.testing.assert_array_equal(lo, [0, 0, 0])
    np.testing.assert_array_equal(hi, [0.4, 0.4, 0.4])
    lo, hi = parse_bounds((-0.1, None), 3)
    np.testing.assert_array_equal(lo, [-0.1] * 3)
    assert np.isposinf(hi).all()
    lo, hi = parse_bounds(([0.0, 0.1, 0.2], [0.5, 0.6, 0.7]), 3)
    np.testing.assert_array_equal(lo, [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(hi, [0.5, 0.6, 0.7])


def test_bounds_series_are_aligned_by_symbol():
    upper = pd.Series({"D": 0.4, "C": 0.3, "B": 0.2, "A": 0.1})
    _, hi = parse_bounds((0.0, upper), 4, SYMS)
    np.testing.assert_array_equal(hi, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(OptimizationError) as err:
        parse_bounds((0.0, upper.drop("C")), 4, SYMS)
    assert err.value.parameter == "bounds" and err.value.symbol == "C"


@pytest.mark.parametrize(
    "bounds",
    [
        "long",
        (0.0, 1.0, 2.0),
        ([0.0, 0.0], 1.0),
        (np.nan, 1.0),
        (np.inf, None),
        (0.0, -np.inf),
        -0.5,
    ],
)
def test_bad_bounds_name_the_parameter(bounds):
    with pytest.raises(OptimizationError) as err:
        parse_bounds(bounds, 3)
    assert err.value.parameter == "bounds"


def test_lower_above_upper_is_infeasible_and_names_the_asset():
    with pytest.raises(InfeasibleError) as err:
        parse_bounds(([0.0, 0.5, 0.0, 0.0], 0.4), 4, SYMS)
    assert err.value.parameter == "bounds" and err.value.symbol == "B"


# --- groups and rows ----------------------------------------------------------------------------


def test_groups_become_named_rows():
    rows = parse_groups({"tech": (["A", "C"], 0.1, 0.5), "solo": ("D", None, 0.2)}, 4, SYMS)
    assert rows.names == ("groups['tech'] lower", "groups['tech'] upper", "groups['solo'] upper")
    np.testing.assert_array_equal(rows.A, [[-1, 0, -1, 0], [1, 0, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(rows.b, [-0.1, 0.5, 0.2])
    by_position = parse_groups({"g": ([0, 2], 0.1, 0.5)}, 4)
    np.testing.assert_array_equal(by_position.A, rows.A[:2])


@pytest.mark.parametrize(
    ("groups", "labels"),
    [
        ({"g": (["Z"], 0, 1)}, SYMS),  # unknown symbol
        ({"g": (["A"], 0, 1)}, None),  # symbols without labels
        ({"g": ([7], 0, 1)}, None),  # position out of range
        ({"g": ([0, 0], 0, 1)}, None),  # listed twice
        ({"g": ([], 0, 1)}, None),  # empty
        ({"g": ([0], 0)}, None),  # not a triple
        ({"g": ([0], "x", 1)}, None),  # non-numeric limit
        ([("g", [0], 0, 1)], None),  # not a mapping
    ],
)
def test_bad_groups_name_the_parameter(groups, labels):
    with pytest.raises(OptimizationError) as err:
        parse_groups(groups, 4, labels)
    assert err.value.parameter == "groups"


def test_group_lower_above_upper_is_infeasible():
    with pytest.raises(InfeasibleError) as err:
        parse_groups({"g": ([0, 1], 0.6, 0.4)}, 4)
    assert err.value.parameter == "groups" and err.value.context["group"] == "g"


def test_linear_constraints_frame_is_aligned_and_named():
    A = pd.DataFrame([[1.0, 2.0, 3.0, 4.0]], index=["beta"], columns=["D", "C", "B", "A"])
    rows = parse_linear_constraints((A, 0.5), 4, SYMS)
    np.testing.assert_array_equal(rows.A, [[4.0, 3.0, 2.0, 1.0]])
    assert rows.names == ("linear_constraints['beta']",)
    rows = parse_linear_constraints(([[1, 0, 0, 0], [0, 1, 0, 0]], 0.3), 4)
    np.testing.assert_array_equal(rows.b, [0.3, 0.3])  # a scalar b applies to every row


@pytest.mark.parametrize(
    "lc",
    [
        ([[1.0, 2.0]], [1.0]),  # wrong width
        ([[1.0, 2.0, 3.0, 4.0]], [1.0, 2.0]),  # b length
        ([[np.nan, 0, 0, 0]], [1.0]),
        ([[1.0, 0, 0, 0]], [np.inf]),
        "A<=b",
    ],
)
def test_bad_linear_constraints(lc):
    with pytest.raises(OptimizationError) as err:
        parse_linear_constraints(lc, 4)
    assert err.value.parameter == "linear_constraints"


def test_exposure_constraints_rows():
    B = pd.DataFrame({"mkt": [1.2, 0.6, 0.9], "size": [0.1, -0.2, 0.3]}, index=["X", "Y", "Z"])
    A, b = exposure_constraints(B, lower=[-0.5, -np.inf], upper=[0.5, 0.25])
    assert list(A.index) == ["mkt <= 0.5", "mkt >= -0.5", "size <= 0.25"]
    assert list(A.columns) == ["X", "Y", "Z"]
    np.testing.assert_array_equal(
        A.to_numpy(), [[1.2, 0.6, 0.9], [-1.2, -0.6, -0.9], [0.1, -0.2, 0.3]]
    )
    np.testing.assert_array_equal(b, [0.5, 0.5, 0.25])
    with pytest.raises(InfeasibleError):
        exposure_constraints(B, lower=1.0, upper=0.5)


# --- solver-free feasibility ----------------------------------------------------------------------


def test_budget_outside_what_the_bounds_can_hold():
    with pytest.raises(InfeasibleError, match=r"upper bounds sum to 0\.8") as err:
        build_constraints(4, None, bounds=(0.0, 0.2), budget=1.0)
    assert err.value.parameter == "bounds"
    with pytest.raises(InfeasibleError, match=r"lower bounds sum to 1\.2") as err:
        build_constraints(4, None, bounds=(0.3, 1.0), budget=1.0)
    assert err.value.parameter == "bounds"
    # 10 x 0.1 is 1.0000000000000002 in floating point: that is not infeasible.
    cons = build_constraints(10, None, bounds=(0.1, 1.0), budget=1.0)
    assert cons.budget == 1.0


def test_a_group_that_cannot_hold_alone_is_named():
    with pytest.raises(InfeasibleError, match=r"force at most 0\.6") as err:
        build_constraints(4, SYMS, bounds=(0.0, 0.3), groups={"ab": (["A", "B"], 0.7, None)})
    assert err.value.parameter == "groups"
    assert err.value.context["constraint"] == "groups['ab'] lower"


def test_a_row_that_cannot_hold_alone_is_named():
    with pytest.raises(InfeasibleError) as err:
        build_constraints(3, None, linear_constraints=([1.0, 1.0, 1.0], 0.5))
    assert err.value.parameter == "linear_constraints"


def test_bad_budget():
    for budget in (np.nan, np.inf, "1", None):
        with pytest.raises(OptimizationError) as err:
            build_constraints(3, None, budget=budget)
        assert err.value.parameter == "budget"


@pytest.mark.parametrize("seed", range(6))
def test_box_budget_argmax_matches_linprog(seed):
    rng = np.random.default_rng(seed)
    n = 8
    c = rng.standard_normal(n)
    lo = -rng.uniform(0, 0.3, n)
    hi = rng.uniform(0.2, 0.6, n)
    if seed % 3 == 1:
        lo[:3] = -np.inf  # infinite below, finite above
    elif seed % 3 == 2:
        hi[:3] = np.inf  # infinite above, finite below
    value, w = box_budget_argmax(c, lo, hi, 1.0)
    bounds = [
        (a if np.isfinite(a) else None, b if np.isfinite(b) else None)
        for a, b in zip(lo, hi, strict=True)
    ]
    ref = linprog(-c, A_eq=np.ones((1, n)), b_eq=[1.0], bounds=bounds, method="highs")
    if ref.status == 3:
        assert value == np.inf
    else:
        assert value == pytest.approx(-ref.fun, abs=1e-12)
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        assert (w >= lo - 1e-15).all() and (w <= hi + 1e-15).all()


def test_box_budget_range_unbounded_and_long_only():
    mu = np.array([0.01, 0.03, 0.02])
    assert box_budget_range(mu, np.zeros(3), np.ones(3), 1.0) == (0.01, 0.03)
    assert box_budget_range(mu, np.full(3, -np.inf), np.full(3, np.inf), 1.0) == (-np.inf, np.inf)


def test_reachable_range_with_rows_uses_the_rows():
    cons = build_constraints(3, None, groups={"top": ([1], None, 0.5)})
    low, high = reachable_range(cons, np.array([0.01, 0.03, 0.02]))
    assert low == pytest.approx(0.01)
    assert high == pytest.approx(0.5 * 0.03 + 0.5 * 0.02)


def test_optimal_face():
    cons = build_constraints(3, None, bounds=(0.0, 0.6), groups={"g": ([0, 1], None, 0.7)})
    face = optimal_face(cons, np.array([0.03, 0.02, 0.01]))
    assert face.value == pytest.approx(0.6 * 0.03 + 0.1 * 0.02 + 0.3 * 0.01)
    assert face.fixed[0] and face.values[0] == pytest.approx(0.6)
    assert face.tight.tolist() == [True]


# --- verification of final weights ---------------------------------------------------------------


def test_check_weights_clips_rounding_and_rejects_real_violations():
    cons = build_constraints(3, None, bounds=(0.0, 0.5))
    w = check_weights(np.array([-1e-13, 0.5 + 1e-13, 0.5]), cons)
    assert w[0] == 0.0 and w[1] == 0.5
    with pytest.raises(OptimizationError) as err:
        check_weights(np.array([-1e-6, 0.5, 0.500001]), cons)
    assert err.value.parameter == "bounds"
    with pytest.raises(OptimizationError) as err:
        check_weights(np.array([0.2, 0.2, 0.2]), cons)
    assert err.value.parameter == "budget"
    with pytest.raises(OptimizationError):
        check_weights(np.array([np.nan, 0.5, 0.5]), cons)
    rows = build_constraints(3, None, linear_constraints=([1.0, 0.0, 0.0], 0.2))
    with pytest.raises(OptimizationError) as err:
        check_weights(np.array([0.3, 0.3, 0.4]), rows)
    assert err.value.parameter == "linear_constraints"


def test_explain_infeasibility_names_the_family():
    # Each group holds alone, both cannot: A+B >= 0.7 and C+D >= 0.7 with A+B+C+D = 1.
    cons = build_constraints(
        4,
        SYMS,
        bounds=(0.0, 0.4),
        groups={"ab": (["A", "B"], 0.7, None), "cd": (["C", "D"], 0.7, None)},
    )
    err = explain_infeasibility(cons)
    assert isinstance(err, InfeasibleError) and err.parameter == "groups"
    # Groups and a row, each family feasible, infeasible together.
    cons = build_constraints(
        3,
        None,
        groups={"g": ([0], 0.6, None)},
        linear_constraints=([1.0, 0.0, 0.0], 0.5),
    )
    assert explain_infeasibility(cons).parameter == "groups/linear_constraints"
    # A target return outside the reachable range is named with the range.
    cons = build_constraints(3, None, groups={"g": ([1], None, 0.5)})
    err = explain_infeasibility(cons, [(np.array([0.01, 0.03, 0.02]), 0.03, "target_return")])
    assert err.parameter == "target_return"
    assert err.context["reachable"] == "[0.01, 0.025]"


def test_all_rows_checked_at_once_match_one_by_one():
    from riskbook.optimize.constraints import _rows_minimum

    rng = np.random.default_rng(11)
    A = rng.standard_normal((5, 7))
    lo, hi = -rng.uniform(0, 0.2, 7), rng.uniform(0.2, 0.5, 7)
    hi[2] = np.inf
    expected = [-box_budget_argmax(-a, lo, hi, 1.0)[0] for a in A]
    np.testing.assert_allclose(_rows_minimum(A, lo, hi, 1.0), expected, atol=1e-14)

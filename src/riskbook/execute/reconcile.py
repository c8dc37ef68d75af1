"""Why the weights held after a rebalance differ from the targets, component by component.

The residual ``held - target`` (held = value after the fills / total equity including cash,
valued at the fill's reference prices) is split by walking from the target to the holding one
step at a time, each step changing one thing:

==================  ========================================================================
component           the step
==================  ========================================================================
``cash_buffer``     targets scaled by ``1 - cash_buffer``
``skipped``         trades left out by the no-trade band or the minimum trade value
``rounding``        whole lots instead of fractional shares
``cash_shortfall``  buys reduced because the cash could not pay for them (plan or fill time)
``costs``           fees and slippage taken out of the equity
``price_move``      prices moving between the decision and the fill
==================  ========================================================================

The first four steps trade frictionlessly at the decision price, so equity is unchanged and a
quantity ``q`` weighs ``q * p / E``; the steps telescope, so the components sum to the residual
exactly (to floating-point rounding).
"""

from __future__ import annotations

import numpy as np

COMPONENTS = ("price_move", "rounding", "cash_buffer", "costs", "skipped", "cash_shortfall")


def _inverse(x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.divide(1.0, x, out=np.zeros_like(x), where=x != 0)


def attribute(
    target: np.ndarray,
    equity: np.ndarray | float,
    decision_price: np.ndarray,
    buffered: np.ndarray,
    kept: np.ndarray,
    rounded: np.ndarray,
    final: np.ndarray,
    total_costs: np.ndarray | float,
    held: np.ndarray,
) -> dict[str, np.ndarray]:
    """Components of ``held - target``, for one rebalance or many at once.

    Arrays are (symbols,) or (rebalances, symbols); ``equity`` (at the decision, before costs)
    and ``total_costs`` (fees plus slippage paid) broadcast against them, e.g. as (rebalances, 1).
    ``buffered .. final`` are the quantities after each sizing stage, ``held`` the weights after
    the fills.
    """
    p = np.where(np.isfinite(decision_price), decision_price, 0.0)
    scale = _inverse(equity)
    w_buffered = buffered * p * scale
    w_kept = kept * p * scale
    w_rounded = rounded * p * scale
    w_final = final * p * scale
    w_costs = final * p * _inverse(np.asarray(equity) - total_costs)
    return {
        "cash_buffer": w_buffered - target,  # ideal * p / E is the target itself
        "skipped": w_kept - w_buffered,
        "rounding": w_rounded - w_kept,
        "cash_shortfall": w_final - w_rounded,
        "costs": w_costs - w_final,
        "price_move": held - w_costs,
    }

"""Covariance and volatility estimators: T x N returns in, N x N matrices out (same kind)."""

__all__: list[str] = []

"""Hypothesis profiles for the property tests in this folder.

Each test asks :func:`prop` for its settings with its ``dev`` example count; the active profile
scales it:

- ``dev`` (default): the count written at the test (x1);
- ``ci``: a third of it (at least 5), selected when ``$CI`` is set;
- ``thorough``: five times it, for a soak run.

``$RISKBOOK_HYPOTHESIS_PROFILE`` (``dev``, ``ci`` or ``thorough``) names the profile and wins over
``$CI``. Every profile has no deadline (solver times vary on a loaded machine). The profiles are
registered here but not loaded globally, so the rest of the test suite keeps Hypothesis's own
defaults.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SCALE = {"dev": 1.0, "ci": 1.0 / 3.0, "thorough": 5.0}
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
for _name in _SCALE:
    settings.register_profile(f"riskbook-{_name}", **_COMMON)

PROFILE = os.environ.get("RISKBOOK_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
if PROFILE not in _SCALE:
    raise RuntimeError(
        f"RISKBOOK_HYPOTHESIS_PROFILE must be one of {sorted(_SCALE)}, got {PROFILE}"
    )


def examples(dev: int) -> int:
    """``dev`` examples scaled to the active profile."""
    return max(5, round(dev * _SCALE[PROFILE]))


def prop(dev: int) -> settings:
    """Settings of a property test: the active profile with ``examples(dev)`` examples."""
    return settings(settings.get_profile(f"riskbook-{PROFILE}"), max_examples=examples(dev))

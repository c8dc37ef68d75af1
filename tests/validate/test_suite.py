"""`riskbook validate`: the whole validation plan on the demo, deterministic whichever
executor runs the sweeps (issue 6 acceptance)."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from riskbook.cli import app
from riskbook.validate.suite import ValidationSettings, validate_book


@pytest.fixture(scope="module")
def report():
    return validate_book(settings=ValidationSettings.quick(), executor="serial")


def test_every_section_is_there_with_sane_numbers(report):
    ladder = report.ladder
    assert list(ladder.index) == [
        "HRP",
        "ERC",
        "1/N-risk",
        "1/N",
        "min-variance",
        "book (full layer)",
    ]
    assert np.isfinite(ladder["sharpe"]).all()
    assert re.fullmatch(
        r"HRP (beats|does not beat) 1/N-risk net of costs \(Sharpe -?\d\.\d{3} vs -?\d\.\d{3}\): "
        r"ship (HRP|1/N-risk)",
        report.verdict,
    )
    assert 0.0 <= report.pbo.pbo <= 1.0
    assert report.pbo.n_combinations == 70  # C(8, 4) in the quick settings
    assert len(report.pbo_trials) == 10
    assert 0.0 <= report.dsr["dsr"] <= 1.0
    # the equal-risk formula of seed 003 s.8, fed the measured sleeve statistics
    c = report.combined_sharpe
    k, rho, sr = c["sleeves"], c["average pairwise correlation"], c["mean sleeve Sharpe"]
    assert c["expected combined Sharpe"] == pytest.approx(sr * np.sqrt(k / (1 + (k - 1) * rho)))
    stress = report.historical_stress
    assert stress.loc["2020 COVID crash", "covered"] and stress.loc["2022 bear market", "covered"]
    assert not stress.loc["2008 crisis", "covered"]  # the quick run starts in 2015
    mc = report.monte_carlo.summary
    assert mc.loc["max_drawdown_governed", "q99"] <= mc.loc["max_drawdown", "q99"] + 1e-12
    assert set(report.sensitivity.parameters.index) == {"vol_target", "lookback"}
    assert report.sensitivity.verdict.split(":")[0] in {
        "flat",
        "peaked",
        "sensitive",
        "undetermined",
    }


def test_cli_is_deterministic_across_executors(tmp_path, monkeypatch):
    """`riskbook validate --quick` on 2 processes prints exactly what the serial pipeline
    computes for the same run config."""
    from riskbook.pipeline import RunConfig, run_pipeline

    monkeypatch.setenv("RISKBOOK_HOME", str(tmp_path / "home"))
    serial = run_pipeline(RunConfig().quick(), validate=True, report=False, save=False)
    result = CliRunner().invoke(
        app, ["validate", "--quick", "--workers", "2", "--no-report", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "validation.txt").read_text() == serial.validation.text()
    assert (tmp_path / "ladder.csv").exists() and (tmp_path / "gates.csv").exists()

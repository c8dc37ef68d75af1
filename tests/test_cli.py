import re

import pytest
from typer.testing import CliRunner

from riskbook import __version__
from riskbook.cli import app

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, re.sub(r"\s+", " ", result.output)


def test_help_lists_commands():
    code, out = run("--help")
    assert code == 0
    assert "demo" in out and "data" in out


def test_version():
    assert run("--version") == (0, f"riskbook {__version__} ")


def test_demo_runs_the_pipeline_keeps_the_run_and_writes_the_report(isolated_home):
    """`riskbook demo --quick`: sleeves -> book -> backtest -> validation -> registry ->
    report; then the registry lists the run and re-renders its report."""
    code, out = run("demo", "--quick", "--workers", "2")
    assert code == 0, out
    assert "20 symbols, 8313 dates, 1990-01-02..2022-12-28" in out
    assert re.search(r"HRP (beats|does not beat) 1/N-risk net of costs", out)
    run_id = re.search(r"run: (\S+)", out).group(1)
    report = re.search(r"report: (\S+\.html)", out).group(1)
    from pathlib import Path

    page = Path(report).read_text(encoding="utf-8")
    assert 'id="validation"' in page and "<script src=" not in page
    code, listed = run("runs", "list")
    assert code == 0 and run_id[:6] in listed
    code, shown = run("runs", "show", run_id, "--config")
    assert code == 0 and "warmup_days" in shown
    again = isolated_home / "again.html"
    code, out = run("report", run_id, "--out", str(again))
    assert code == 0, out
    assert 'id="validation"' in again.read_text(encoding="utf-8")


def test_runs_errors_name_the_run():
    code, out = run("runs", "show", "nosuchrun")
    assert code == 2 and "nosuchrun" in out


def test_data_ingest_list_show(tmp_path, sp500):
    path = tmp_path / "p.csv"
    sp500.slice("2022-01-03", "2022-03-31").select(["KO", "PEP"]).to_frame().to_csv(path)
    code, out = run("data", "ingest", str(path), "--name", "drinks")
    assert code == 0, out
    assert "stored drinks: 2 symbols x 62 daily bars, 2022-01-03..2022-03-31" in out
    code, out = run("data", "list")
    assert code == 0 and "drinks" in out and "62" in out
    code, out = run("data", "show", "drinks")
    assert code == 0 and "KO" in out and "PEP" in out


def test_data_errors_exit_2_with_a_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,A\n2024-01-02,1\n2024-01-02,2\n")
    code, out = run("data", "ingest", str(bad), "--name", "bad")
    assert code == 2
    assert "duplicate timestamp" in out and "2024-01-02" in out
    code, out = run("data", "show", "bad")
    assert code == 2 and "no such data set" in out


@pytest.mark.parametrize("args", [("data",), ()])
def test_no_args_shows_help(args):
    _code, out = run(*args)
    assert "Usage" in out


def test_lean_run_prints_the_log_and_metrics():
    result = runner.invoke(
        app,
        [
            "lean",
            "run",
            "examples/lean/factor_min_variance.py",
            "--algorithm",
            "FactorMinVarianceFixed",
            "--costs",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    out = re.sub(r"\s+", " ", result.output)
    assert "2018-01-02 16:00:00 Target weights: [0.23794857" in out
    assert "2018-01-03 16:00:00 Held weights after fills:" in out  # read after the fills
    assert re.search(r"rebalances │ 19\.0000", out)


def test_lean_run_names_an_ambiguous_file():
    result = runner.invoke(app, ["lean", "run", "examples/lean/factor_min_variance.py"])
    assert result.exit_code == 2
    assert "algorithm" in result.output


def test_plan_writes_orders_sells_first_and_is_idempotent(tmp_path):
    args = [
        "plan",
        "--positions",
        "examples/plan/holdings.csv",
        "--targets",
        "examples/plan/targets.csv",
        "--prices",
        "examples/plan/prices.csv",
        "--cash",
        "5000",
        "--out",
    ]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    code, out = run(*args, str(first))
    assert code == 0, out
    assert "written:" in out and "9 orders" in out
    assert run(*args, str(second))[0] == 0
    assert first.read_bytes() == second.read_bytes()
    sides = [line.split(",")[1] for line in first.read_text().splitlines()[1:]]
    assert sides == sorted(sides, key=lambda s: s != "SELL")  # every SELL before any BUY


def test_plan_from_a_run_config_uses_the_integration_layer(tmp_path):
    code, out = run("plan", "--book", "examples/weekly_quick.toml", "--cash", "1000000")
    assert code == 0, out
    assert "symbol,side,quantity,price,value" in out
    assert "SELL" in out and "BUY" in out  # the long/short demo book, on a margin account


def test_plan_bad_csv_names_file_row_and_column(tmp_path):
    bad = tmp_path / "targets.csv"
    bad.write_text("symbol,weight\nKO,0.5\nXYZ,0.2\n")
    code, out = run(
        "plan", "--targets", str(bad), "--prices", "examples/plan/prices.csv", "--cash", "1000"
    )
    assert code == 2
    assert "XYZ" in out and "row=2" in out and "column=symbol" in out

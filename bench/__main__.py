"""Run every benchmark in turn: ``python -m bench``."""

import importlib
import pkgutil

import bench

for module in sorted(
    m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")
):
    print(f"\n# {module}\n")
    importlib.import_module(f"bench.{module}").main()

"""Benchmarks: riskbook side by side with the libraries users would otherwise pick.

Importing this package pins BLAS to the same number of threads for every library (one, unless
``RISKBOOK_BENCH_THREADS`` says otherwise). It runs before any benchmark module imports numpy,
because ``python -m bench.bench_x`` imports the package first.
"""

import os

THREADS = os.environ.get("RISKBOOK_BENCH_THREADS", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = THREADS

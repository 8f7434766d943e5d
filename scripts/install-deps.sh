#!/usr/bin/env bash
# Installs the Debian packages MemoryLab's tests use on a fresh machine (run as root).
# The library itself needs only the .NET SDK.
set -euo pipefail
# chromium + a font: the browser test of the HTML report (tests/MemoryLab.Tests/Reporting/ReportBrowserTests.cs);
# chromium only recommends fonts, and --no-install-recommends would leave it none to draw text with.
need=(chromium fonts-dejavu-core)
# (packages are added here as features that need them land)
# Slurm + munge: a local one-node cluster for the sweep integration test (Experiments/SlurmIntegrationTests).
need+=(slurmctld slurmd slurm-client munge)
# python3-torch (PyTorch 1.13, CPU): the PyTorch peer (benchmarks/peers/memlab_peers.py), run with
# /usr/bin/python3 by the agreement tests (tests/MemoryLab.Tests/Peers) and `memlab bench --peers`; never a library dependency.
need+=(python3-torch)
# An optimised BLAS for that PyTorch: Debian's torch calls the system libblas.so.3, which is the slow reference BLAS
# unless an optimised one is installed. A skilled PyTorch user would have OpenBLAS, and the benchmark compares against
# the best PyTorch can do here (the OpenMP build follows torch.set_num_threads).
need+=(libopenblas0-openmp)
# numpy + pandas for Debian's python3: the Python snippets of docs/result-files.md, run by ResultFilesPythonTests.
need+=(python3-numpy python3-pandas)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Start the local Slurm cluster (idempotent). Not fatal: without it the Slurm test is skipped with the reason.
bash "$(dirname "$0")/slurm-local.sh" || echo "install-deps: the local Slurm cluster did not start; its test will be skipped"

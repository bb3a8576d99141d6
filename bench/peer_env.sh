# Sourced by the bench scripts: the Python peers (PyTorch, numpy, scikit-learn) get the fastest
# OpenBLAS kernels this CPU has. Debian's OpenBLAS 0.3.21 does not recognise newer Xeons (Sapphire
# Rapids) and falls back to its generic "Prescott" kernels, which made PyTorch's training step 1.7x
# slower on such a machine (d_model 64: 44.8 vs 25.7 ms); a peer is measured at its best, so the core
# type is named when OpenBLAS would fall back. A value already set by the caller is kept. Safe under
# set -euo pipefail (a missing numpy leaves everything as it is).
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  core=$(OPENBLAS_VERBOSE=2 /usr/bin/python3 -c 'import numpy' 2>&1 | sed -n 's/^Core: //p' | head -1 || true)
  if [ "$core" = Prescott ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SKYLAKEX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=HASWELL
    fi
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
      echo "(OpenBLAS took this CPU for Prescott; the peers run with OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)"
    fi
  fi
fi

#!/bin/sh
# mpirun with what tests and containers need, so that callers write one
# thing: scripts/mpirun.sh -np 2 build/bin/tfc-run model.so ...
#   - as root, OpenMPI refuses to start without --allow-run-as-root;
#   - a container may have fewer cores than ranks (--oversubscribe) and no
#     working CMA/ptrace for shared-memory single copy (vader's
#     single_copy_mechanism none) nor a usable network (btl self,vader;
#     OpenMPI 5 calls vader "sm" and accepts the old name);
#   - NCCL multicast (NVLS) stays off for GPU runs.
# MPIRUN overrides the mpirun binary; extra arguments pass through.
set -eu
MPIRUN=${MPIRUN:-mpirun}
if ! command -v "$MPIRUN" >/dev/null 2>&1; then
  echo "scripts/mpirun.sh: '$MPIRUN' not found (apt-get install openmpi-bin," \
       "or scripts/setup.sh)" >&2
  exit 127
fi
set -- --oversubscribe \
  --mca btl self,vader --mca btl_vader_single_copy_mechanism none \
  -x NCCL_NVLS_ENABLE="${NCCL_NVLS_ENABLE:-0}" "$@"
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  set -- --allow-run-as-root "$@"
fi
# Sanitized builds (docs/RELIABILITY.md): OpenMPI leaks at MPI_Finalize from
# its own plug-ins, unloaded by then (no stack to suppress by name), so the
# ranks run without LeakSanitizer; ASan and UBSan stay on.
if [ -n "${ASAN_OPTIONS:-}" ]; then
  export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
fi
# No interactive-help lookups and no warnings about the absent network.
export OMPI_MCA_btl_base_warn_component_unused=0
exec "$MPIRUN" "$@"

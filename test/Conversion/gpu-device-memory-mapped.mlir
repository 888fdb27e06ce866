// The one-iteration loop survives the mapping (the GPU pipeline runs no
// canonicalize in between, which would inline it back into host code).
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-device-memory,tfc-gpu-map-loops))" | FileCheck %s --check-prefix=MAPPED
// MAPPED-LABEL: func.func @shape_store
// MAPPED:         scf.parallel
// MAPPED:           scf.if
// MAPPED:             memref.store
// MAPPED:         mapping = [#gpu.loop_dim_map<processor = block_x
func.func @shape_store(%s: memref<1xi64>, %v: i64) {
  %c0 = arith.constant 0 : index
  memref.store %v, %s[%c0] : memref<1xi64>
  return
}

// RUN: tfc-opt %s -split-input-file -tfc-outline-kernels -canonicalize | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-outline-kernels -convert-scf-to-cf \
// RUN:   -convert-arith-to-llvm -convert-index-to-llvm -finalize-memref-to-llvm \
// RUN:   -convert-cf-to-llvm -convert-func-to-llvm -reconcile-unrealized-casts \
// RUN:   -tfc-lower-parallel-calls | FileCheck %s --check-prefix=LLVM

// An elementwise nest (no nested loops): the last dim is cut into blocks of
// 1024 that stay an inner loop; blocks and the other dims are linearized.
// The call passes (0, n, work) with n = d0 * ceildiv(d1, 1024) and work =
// d0 * d1.
// CHECK-LABEL: func.func private @ew_k0_par(
// CHECK-SAME: %{{.*}}: index, %[[D1:.*]]: index, %[[A:.*]]: memref<?x?xf32>, %[[OUT:.*]]: memref<?x?xf32>, %[[B:.*]]: index, %[[E:.*]]: index, %{{.*}}: index)
// CHECK-SAME: tfc.parallel_body
// CHECK: %[[T1:.*]] = arith.maxsi %[[D1]]
// CHECK: %[[NB:.*]] = arith.ceildivsi %[[T1]], %c1024
// CHECK: scf.for %[[L:.*]] = %[[B]] to %[[E]]
// CHECK: %[[BLK:.*]] = arith.remsi %[[L]], %[[NB]]
// CHECK: %[[I:.*]] = arith.divsi %[[L]], %[[NB]]
// CHECK: %[[J0:.*]] = arith.muli %[[BLK]], %c1024
// CHECK: %[[J1:.*]] = arith.minsi %{{.*}}, %[[T1]]
// CHECK: scf.for %[[J:.*]] = %[[J0]] to %[[J1]]
// CHECK: memref.load %[[A]][%[[I]], %[[J]]]
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[I]], %[[J]]]
// CHECK-LABEL: func @ew(
// CHECK-DAG: %[[T0:.*]] = arith.maxsi %dim, %c0
// CHECK-DAG: %[[U1:.*]] = arith.maxsi %dim_0, %c0
// CHECK: %[[BL:.*]] = arith.ceildivsi %[[U1]], %c1024
// CHECK: %[[N:.*]] = arith.muli %[[T0]], %[[BL]]
// CHECK: %[[W:.*]] = arith.muli %[[T0]], %[[U1]]
// CHECK: call @ew_k0_par(%dim, %dim_0, %arg0, %arg1, %c0, %[[N]], %[[W]])
// CHECK-NOT: scf.parallel
// LLVM-LABEL: llvm.func internal @ew_k0_par_thunk(%{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64)
// LLVM: llvm.load
// LLVM: llvm.call @ew_k0_par(
// LLVM-LABEL: llvm.func @ew(
// LLVM: %[[CTX:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(i64, i64, ptr, ptr
// LLVM: llvm.store %{{.*}}, %{{.*}} : i64, !llvm.ptr
// LLVM: %[[FN:.*]] = llvm.mlir.addressof @ew_k0_par_thunk
// LLVM: llvm.call @tfcrt_parallel_work(%{{.*}}, %{{.*}}, %[[FN]], %[[CTX]])
// LLVM-NOT: llvm.call @ew_k0_par(
func.func @ew(%a: memref<?x?xf32>, %b: memref<?x?xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = memref.dim %a, %c0 : memref<?x?xf32>
  %d1 = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%d0, %d1) step (%c1, %c1) {
    %x = memref.load %a[%i, %j] : memref<?x?xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// A reduction nest (a loop inside): every parallel dim is linearized and the
// work counts the inner loop's trips: work = 4 * 8 * 64.
// CHECK-LABEL: func.func private @red_k0_par(
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[J:.*]] = arith.remsi %[[L]], %c8
// CHECK: %[[I:.*]] = arith.divsi %[[L]], %c8
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step
// CHECK: memref.load %arg0[%[[I]], %[[J]], %[[K]]]
// CHECK: arith.addf
// CHECK-LABEL: func @red(
// CHECK: call @red_k0_par(%arg0, %arg1, %c0, %c32, %c2048)
func.func @red(%a: memref<4x8x64xf32>, %s: memref<4x8xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %x = memref.load %a[%i, %j, %k] : memref<4x8x64xf32>
      %acc = memref.load %s[%i, %j] : memref<4x8xf32>
      %y = arith.addf %x, %acc : f32
      memref.store %y, %s[%i, %j] : memref<4x8xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Nests with results or reductions are left in place (not outlined).
// CHECK-LABEL: func @sum(
// CHECK-NOT: call
// CHECK: scf.parallel
func.func @sum(%a: memref<16xf32>, %out: memref<f32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant 0.0 : f32
  %r = scf.parallel (%i) = (%c0) to (%c16) step (%c1) init (%z) -> f32 {
    %x = memref.load %a[%i] : memref<16xf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %rr: f32):
      %s = arith.addf %l, %rr : f32
      scf.reduce.return %s : f32
    }
  }
  memref.store %r, %out[] : memref<f32>
  return
}

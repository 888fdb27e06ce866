// RUN: tfc-opt %s -split-input-file -tfc-early-dealloc | FileCheck %s --check-prefix=DEALLOC
// RUN: tfc-opt %s -split-input-file -tfc-lower-reshape-views | FileCheck %s --check-prefix=VIEWS
// RUN: tfc-opt %s -split-input-file -tfc-outline-kernels | FileCheck %s --check-prefix=OUTLINE

// DEALLOC-LABEL: func @f
// The dealloc of %t moves to right after its last use through a view.
// DEALLOC: %[[T:.*]] = memref.alloc
// DEALLOC: %[[V:.*]] = memref.collapse_shape %[[T]]
// DEALLOC: memref.copy %[[V]]
// DEALLOC-NEXT: memref.dealloc %[[T]]
// DEALLOC: memref.copy %arg1, %arg2
// VIEWS-LABEL: func @f
// VIEWS: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [%{{.*}}], strides: [1]
// VIEWS-NOT: memref.collapse_shape
// OUTLINE-LABEL: func @f
func.func @f(%n: index, %arg1: memref<?xf32>, %arg2: memref<?xf32>) attributes {tfc.entry} {
  %t = memref.alloc(%n) : memref<?x1xf32>
  %v = memref.collapse_shape %t [[0, 1]] : memref<?x1xf32> into memref<?xf32>
  memref.copy %v, %arg1 : memref<?xf32> to memref<?xf32>
  memref.copy %arg1, %arg2 : memref<?xf32> to memref<?xf32>
  memref.dealloc %t : memref<?x1xf32>
  return
}

// -----

// Each top-level loop nest of the entry becomes a noinline function; the
// constants it uses are cloned inside (static trip counts stay static).
// OUTLINE-LABEL: func.func private @g_k0(%{{.*}}: memref<8xf32>)
// OUTLINE-SAME: passthrough = ["noinline"]
// OUTLINE: %[[C8:.*]] = arith.constant 8 : index
// OUTLINE: scf.for %{{.*}} = %{{.*}} to %[[C8]]
// OUTLINE-LABEL: func @g
// OUTLINE: call @g_k0(%arg0)
// OUTLINE-NOT: scf.for
func.func @g(%m: memref<8xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %one, %m[%i] : memref<8xf32>
  }
  return
}

// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=128},tfc-gpu-merge-kernels))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=128},tfc-gpu-merge-kernels,convert-parallel-loops-to-gpu),gpu-kernel-outlining)" -split-input-file | FileCheck %s --check-prefix=LAUNCH
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=128 per-thread=4 per-thread-min=1},tfc-gpu-merge-kernels))" -split-input-file | FileCheck %s --check-prefix=VMERGE

// tfc-gpu-merge-kernels: consecutive grids of tfc-gpu-map-loops that touch
// no common memory become one launch of nA + nB blocks whose blocks branch
// on their index (uniform per block): below nA they run A, the others run B
// with the block index shifted by nA. A decode step's rotary of q, rotary of
// k into the KV cache and copy of v into it (three independent kernels per
// layer) are the case it is for; test/e2e/gpu-target.test runs the merged
// kernels (emulated on the host) against ONNX Runtime.

// Three independent elementwise loops (fresh buffers and distinct arguments
// of an entry) with host shape code between them: one grid, two branches
// nested.
// CHECK-LABEL: func.func @independent
// CHECK:         %[[NA:.*]] = arith.ceildivui %{{.*}}, %c128 : index
// CHECK:         %[[NB:.*]] = arith.ceildivui %{{.*}}, %c128{{.*}} : index
// CHECK:         %[[NAB:.*]] = arith.addi %[[NA]], %[[NB]] : index
// CHECK:         %[[NC:.*]] = arith.ceildivui %{{.*}}, %c128{{.*}} : index
// CHECK:         %[[ALL:.*]] = arith.addi %[[NAB]], %[[NC]] : index
// CHECK:         scf.parallel (%[[B:.*]], %[[T:.*]]) = (%{{.*}}, %{{.*}}) to (%[[ALL]], %{{.*}})
// CHECK-NEXT:      %[[IN1:.*]] = arith.cmpi ult, %[[B]], %[[NAB]] : index
// CHECK-NEXT:      scf.if %[[IN1]] {
// CHECK-NEXT:        %[[IN0:.*]] = arith.cmpi ult, %[[B]], %[[NA]] : index
// CHECK-NEXT:        scf.if %[[IN0]] {
// CHECK:               math.exp
// CHECK:             } else {
// CHECK-NEXT:          %[[BB:.*]] = arith.subi %[[B]], %[[NA]] : index
// CHECK-NEXT:          arith.muli %[[BB]]
// CHECK:               math.sqrt
// CHECK:             }
// CHECK:           } else {
// CHECK-NEXT:        %[[BC:.*]] = arith.subi %[[B]], %[[NAB]] : index
// CHECK-NEXT:        arith.muli %[[BC]]
// CHECK:             math.tanh
// CHECK:           }
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK-NOT:     scf.parallel
// CHECK:         return
// LAUNCH-LABEL: func.func @independent
// LAUNCH-COUNT-1: gpu.launch_func
// LAUNCH-NOT:   gpu.launch_func
// LAUNCH:       return
func.func @independent(%a: memref<?xf32>, %c: memref<?xf32>) -> (memref<?xf32>, memref<?xf32>, memref<?xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?xf32>
  %x = memref.alloc(%n) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    %e = math.exp %v : f32
    memref.store %e, %x[%i] : memref<?xf32>
    scf.reduce
  }
  %m = memref.dim %c, %c0 : memref<?xf32>
  %y = memref.alloc(%m) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%m) step (%c1) {
    %v = memref.load %c[%i] : memref<?xf32>
    %e = math.sqrt %v : f32
    memref.store %e, %y[%i] : memref<?xf32>
    scf.reduce
  }
  %z = memref.alloc(%m) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%m) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    %e = math.tanh %v : f32
    memref.store %e, %z[%i] : memref<?xf32>
    scf.reduce
  }
  return %x, %y, %z : memref<?xf32>, memref<?xf32>, memref<?xf32>
}

// -----

// Grids whose rows became vector loads and stores (tfc-gpu-map-loops'
// vector rows, per-thread=4 and rows of 64) merge as well: their vector
// accesses count as the accesses they are.
// VMERGE-LABEL: func.func @vector_rows
// VMERGE:         scf.parallel
// VMERGE:           vector.load %arg0
// VMERGE:           vector.store
// VMERGE:           vector.load %arg1
// VMERGE:           vector.store
// VMERGE-NOT:     scf.parallel
// VMERGE:         return
func.func @vector_rows(%a: memref<?x64xf32>, %c: memref<?x64xf32>) -> (memref<?x64xf32>, memref<?x64xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %a, %c0 : memref<?x64xf32>
  %x = memref.alloc(%n) : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x64xf32>
    %e = math.exp %v : f32
    memref.store %e, %x[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  %m = memref.dim %c, %c0 : memref<?x64xf32>
  %y = memref.alloc(%m) : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%m, %c64) step (%c1, %c1) {
    %v = memref.load %c[%i, %j] : memref<?x64xf32>
    %e = math.sqrt %v : f32
    memref.store %e, %y[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  return %x, %y : memref<?x64xf32>, memref<?x64xf32>
}

// -----

// B reads what A writes (A's output feeds B): two launches.
// CHECK-LABEL: func.func @dependent
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT:     scf.parallel
func.func @dependent(%a: memref<?xf32>) -> memref<?xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?xf32>
  %x = memref.alloc(%n) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    %e = math.exp %v : f32
    memref.store %e, %x[%i] : memref<?xf32>
    scf.reduce
  }
  %y = memref.alloc(%n) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    %e = math.sqrt %v : f32
    memref.store %e, %y[%i] : memref<?xf32>
    scf.reduce
  }
  return %y : memref<?xf32>
}

// -----

// The K and V halves of a KV cache: both loops write the cache argument,
// through subviews whose static offsets in dim 1 (0 and 1, size 1) are
// disjoint, built inside the loops from the `past` scalar as
// tfc-gpu-device-memory leaves them. One launch. A second writer of the
// K half after them overlaps the first: its own launch.
// CHECK-LABEL: func.func @cache_halves
// CHECK:         scf.parallel
// CHECK:           scf.if
// CHECK:             memref.subview %arg1[0, 0, %{{.*}}, 0]
// CHECK:           } else {
// CHECK:             memref.subview %arg1[0, 1, %{{.*}}, 0]
// CHECK:         } {mapping
// CHECK:         scf.parallel
// CHECK-NOT:       else
// CHECK:           memref.subview %arg1[0, 0, 0, 0]
// CHECK-NOT:     scf.parallel
func.func @cache_halves(%kv: memref<2x8xf32>, %cache: memref<4x2x16x8xf32>, %past: memref<i64>) attributes {tfc.step_entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %p = memref.load %past[] : memref<i64>
    %pi = arith.index_cast %p : i64 to index
    %k = memref.subview %cache[0, 0, %pi, 0] [1, 1, 1, 8] [1, 1, 1, 1] : memref<4x2x16x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    %v = memref.load %kv[%c0, %j] : memref<2x8xf32>
    memref.store %v, %k[%j] : memref<8xf32, strided<[1], offset: ?>>
    scf.reduce
  }
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %p = memref.load %past[] : memref<i64>
    %pi = arith.index_cast %p : i64 to index
    %vv = memref.subview %cache[0, 1, %pi, 0] [1, 1, 1, 8] [1, 1, 1, 1] : memref<4x2x16x8xf32> to memref<8xf32, strided<[1], offset: ?>>
    %v = memref.load %kv[%c1, %j] : memref<2x8xf32>
    memref.store %v, %vv[%j] : memref<8xf32, strided<[1], offset: ?>>
    scf.reduce
  }
  scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
    %k = memref.subview %cache[0, 0, 0, 0] [1, 1, 1, 8] [1, 1, 1, 1] : memref<4x2x16x8xf32> to memref<8xf32, strided<[1]>>
    %v = memref.load %kv[%c1, %j] : memref<2x8xf32>
    memref.store %v, %k[%j] : memref<8xf32, strided<[1]>>
    scf.reduce
  }
  return
}

// -----

// Outside an entry two arguments may be one buffer; host code between the
// loops that is more than shape code (a deallocation) keeps them apart too;
// so does a loop with a GPU op (a row kernel's barrier).
// CHECK-LABEL: func.func @may_alias
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT:     scf.parallel
func.func @may_alias(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    %e = math.exp %v : f32
    memref.store %e, %a[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
// CHECK-LABEL: func.func @dealloc_between
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT:     scf.parallel
func.func @dealloc_between(%a: memref<8xf32>, %b: memref<8xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %t[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  memref.dealloc %t : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
// CHECK-LABEL: func.func @row_kernel
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT:     scf.parallel
func.func @row_kernel(%a: memref<8x128xf32>, %b: memref<8xf32>) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c128 = arith.constant 128 : index
  scf.parallel (%r, %t) = (%c0, %c0) to (%c8, %c128) step (%c1, %c1) {
    %v = memref.load %a[%r, %t] : memref<8x128xf32>
    gpu.barrier
    memref.store %v, %a[%r, %t] : memref<8x128xf32>
    scf.reduce
  } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

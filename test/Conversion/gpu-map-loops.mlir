// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=128}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=128 per-thread=4 per-thread-min=1024}))" -split-input-file | FileCheck %s --check-prefix=VEC
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{per-thread=0}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADV
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=128 per-thread=4 per-thread-min=1024 vector-rows=false}))" -split-input-file | FileCheck %s --check-prefix=NOVEC
// NOVEC-NOT: vector.

// A 2-D parallel loop becomes one 1-D grid: ceildiv(n * 384, 128) blocks of
// 128 threads, a guard on the linear index, and the indices recovered by
// rem/div (innermost dim fastest).
// per-thread=4 (the pipeline's default, for loops of >= 2^20 iterations):
// V = (N >= 1024 ? 4 : 1) on the host, the innermost trip count becomes
// ceildiv(384, V) in the grid and the delinearization, and each thread runs
// V consecutive iterations: the body is straight-line, so the V bodies are
// emitted one after the other, the loads of element j at an index clamped
// to the thread's first element when j >= V or i >= 384, and the stores
// last, each but the first guarded (all loads in flight before any use).
// VEC-LABEL: func.func @elementwise
// VEC-DAG:     %[[C128:.*]] = arith.constant 128 : index
// VEC:         %[[MIN:.*]] = arith.constant 1024 : index
// VEC-NEXT:    %[[BIG:.*]] = arith.cmpi uge, %{{.*}}, %[[MIN]]
// VEC:         %[[C4:.*]] = arith.constant 4 : index
// VEC:         %[[V:.*]] = arith.select %[[BIG]], %[[C4]], %{{.*}} : index
// VEC:         %[[INNER:.*]] = arith.ceildivui %[[TRIP:.*]], %[[V]]
// VEC:         %[[TOTAL:.*]] = arith.muli %{{.*}}, %[[INNER]]
// VEC:         %[[BLOCKS:.*]] = arith.ceildivui %[[TOTAL]], %[[C128]]
// VEC:         scf.parallel ({{.*}}) to (%[[BLOCKS]], %[[C128]])
// VEC:           %[[IDX:.*]] = arith.remui %[[LIN:.*]], %[[INNER]]
// VEC:           arith.divui %[[LIN]], %[[INNER]]
// VEC:           %[[BASE:.*]] = arith.muli %[[IDX]], %[[V]]
// Rows of 384 (a multiple of V) in identity layouts: a thread whose V
// elements are all inside (V = 4 here and base + 4 <= 384) and whose
// memrefs' base pointers are 16-byte aligned (a uniform test) loads and
// stores them as one vector each; the scalar bodies are the else branch.
// VEC:           %[[FULL:.*]] = arith.andi
// VEC:           %[[PA:.*]] = memref.extract_aligned_pointer_as_index %arg0
// VEC:           arith.remui %[[PA]], %[[C16:.*]] : index
// VEC:           memref.extract_aligned_pointer_as_index %arg1
// VEC:           scf.if %{{.*}} {
// VEC-NEXT:        %[[VL:.*]] = vector.load %arg0[%{{.*}}, %[[BASE]]] {alignment = 16 : i64} : memref<?x384xf32>, vector<4xf32>
// VEC-NEXT:        vector.extract %[[VL]][0]
// VEC-COUNT-4:     math.exp
// VEC:             %[[VS:.*]] = vector.from_elements
// VEC-NEXT:        vector.store %[[VS]], %arg1[%{{.*}}, %[[BASE]]] {alignment = 16 : i64} : memref<?x384xf32>, vector<4xf32>
// VEC-NEXT:      } else {
// VEC:           memref.load %{{.*}}[%{{.*}}, %[[FIRST:[0-9a-z_]+]]]
// VEC:           %[[E0:.*]] = math.exp
// VEC:           %[[I1:.*]] = arith.addi %[[BASE]], %[[C1:.*]] : index
// VEC:           %[[J1:.*]] = arith.cmpi ult, %[[C1]], %[[V]]
// VEC:           %[[T1:.*]] = arith.cmpi ult, %[[I1]], %[[TRIP]]
// VEC:           %[[OK1:.*]] = arith.andi %[[J1]], %[[T1]]
// VEC:           %[[K1:.*]] = arith.select %[[OK1]], %{{.*}}, %[[FIRST]]
// VEC:           memref.load %{{.*}}[%{{.*}}, %[[K1]]]
// VEC-NOT:       memref.store
// VEC:           math.exp
// VEC-COUNT-2:   memref.load
// VEC:           memref.store %[[E0]], %{{.*}}[%{{.*}}, %[[FIRST]]]
// VEC-NEXT:      scf.if %[[OK1]] {
// VEC-NEXT:        memref.store %{{.*}}, %{{.*}}[%{{.*}}, %[[K1]]]
// BADV: tfc-gpu-map-loops: per-thread must be in [1, 64], got 0
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK:         %[[BLOCKS:.*]] = arith.ceildivui %[[TOTAL:.*]], %[[C128]]
// CHECK:         scf.parallel (%[[B:.*]], %[[T:.*]]) = ({{.*}}) to (%[[BLOCKS]], %[[C128]])
// CHECK:           %[[BS:.*]] = arith.muli %[[B]], %[[C128]]
// CHECK:           %[[LIN:.*]] = arith.addi %[[BS]], %[[T]]
// CHECK:           %[[IN:.*]] = arith.cmpi ult, %[[LIN]], %[[TOTAL]]
// CHECK:           scf.if %[[IN]] {
// CHECK:             arith.remui %[[LIN]]
// CHECK:             arith.divui %[[LIN]]
// CHECK:             memref.load
// CHECK:             math.exp
// CHECK:             memref.store
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
func.func @elementwise(%a: memref<?x384xf32>, %b: memref<?x384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c384 = arith.constant 384 : index
  %n = memref.dim %a, %c0 : memref<?x384xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c384) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x384xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%i, %j] : memref<?x384xf32>
    scf.reduce
  }
  return
}

// -----

// A dynamic row length (alignment of each row unknown): no vector path; a
// bias read along the rows ([384], identity) still is one, and the
// broadcast read of a per-row scale is not (its index is not the column).
// VEC-LABEL: func.func @dynamic_rows
// VEC-NOT:     vector.load %arg0
// VEC-LABEL: func.func @bias_rows
// VEC:         vector.load %arg1[%{{.*}}] {alignment = 16 : i64} : memref<384xf32>, vector<4xf32>
// VEC-NOT:     vector.load %arg2
// VEC:         vector.store
func.func @dynamic_rows(%a: memref<?x?xf32>, %b: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x?xf32>
  %m = memref.dim %a, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x?xf32>
    %e = math.exp %v : f32
    memref.store %e, %b[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}
func.func @bias_rows(%a: memref<?x384xf32>, %bias: memref<384xf32>, %s: memref<?xf32>, %o: memref<?x384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c384 = arith.constant 384 : index
  %n = memref.dim %a, %c0 : memref<?x384xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c384) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<?x384xf32>
    %bb = memref.load %bias[%j] : memref<384xf32>
    %k = memref.load %s[%i] : memref<?xf32>
    %x = arith.addf %v, %bb : f32
    %y = arith.mulf %x, %k : f32
    memref.store %y, %o[%i, %j] : memref<?x384xf32>
    scf.reduce
  }
  return
}

// -----

// A reduction (scf.for from linalg's parallel-loop lowering) stays inside
// the thread; a nested scf.parallel is run sequentially by the thread.
// CHECK-LABEL: func.func @matmul_like
// CHECK:         scf.parallel
// CHECK:           scf.if
// CHECK:             scf.for
// CHECK:               scf.for
// CHECK-NOT:         scf.parallel
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x
func.func @matmul_like(%a: memref<8x16xf32>, %b: memref<16x4xf32>, %c: memref<8x4x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c4) step (%c1, %c1) {
    scf.for %k = %c0 to %c16 step %c1 {
      scf.parallel (%l) = (%c0) to (%c2) step (%c1) {
        %x = memref.load %a[%i, %k] : memref<8x16xf32>
        %y = memref.load %b[%k, %j] : memref<16x4xf32>
        %z = memref.load %c[%i, %j, %l] : memref<8x4x2xf32>
        %p = arith.mulf %x, %y : f32
        %s = arith.addf %z, %p : f32
        memref.store %s, %c[%i, %j, %l] : memref<8x4x2xf32>
        scf.reduce
      }
    }
    scf.reduce
  }
  return
}

// -----

// A parallel loop with a reduction result is left alone (runs on the host).
// CHECK-LABEL: func.func @reduction_result
// CHECK:         scf.parallel
// CHECK-NOT:     mapping
func.func @reduction_result(%a: memref<64xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %r = scf.parallel (%i) = (%c0) to (%c64) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i] : memref<64xf32>
    scf.reduce(%v : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  return %r : f32
}

// -----

// An invalid block size is an error, not a crash.
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-map-loops{block-size=2048}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: block-size must be in [1, 1024], got 2048
func.func @empty() {
  return
}

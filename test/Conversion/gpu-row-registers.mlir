// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=4 registers=4}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=4}))" -split-input-file | FileCheck %s --check-prefix=LOOPS
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=4 registers=2}))" -split-input-file | FileCheck %s --check-prefix=SHORT
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 few-rows=1024 few-block-size=256 fuse=true remat=true unroll=4 registers=4}))" -split-input-file | FileCheck %s --check-prefix=FEW
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=4 registers=4}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true registers=65}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// Row chains with registers=N (tfc --cuda-row-registers, GpuRowChains.cpp,
// ChainEmitter::regs): where every row loop's length is static and a
// thread has at most N of a row's elements, the thread's elements are
// k_j = t + 32 j, each op's loop is emitted straight-line instead of as an
// scf.for, and a rematerialized version (here the residual sum h = x + r
// and the centred d = h - mean) is computed once a thread and element and
// reused by every later op: x and r are read once, not once per pass.

// A layer norm with its residual add over rows of 96 (3 elements a thread
// of 32): the three passes (sum of h, sum of d^2, the store) read x and r
// 3 times each (6 loads), not 9 times each. A block is one warp, so the
// reductions are warp butterflies (5 shuffles), not block all_reduces.
// CHECK-LABEL: func.func @layer_norm
// CHECK:         scf.parallel
// CHECK-NOT:       scf.for
// CHECK-COUNT-6:   memref.load %{{.*}} : memref<?x96xf32>
// CHECK-NOT:       memref.load %{{.*}} : memref<?x96xf32>
// CHECK-NOT:       gpu.all_reduce
// CHECK-COUNT-5:   gpu.shuffle  xor
// CHECK-NOT:       gpu.all_reduce
// CHECK-COUNT-5:   gpu.shuffle  xor
// CHECK-COUNT-3:   memref.store %{{.*}} : memref<?x96xf32>
// CHECK-NOT:       memref.load %{{.*}} : memref<?x96xf32>
// CHECK:         return

// Without registers: row loops, each pass reloading x and r.
// LOOPS-LABEL: func.func @layer_norm
// LOOPS:         scf.for
// LOOPS:           memref.load %{{.*}} : memref<?x96xf32>
// LOOPS:         gpu.all_reduce add
// LOOPS:         scf.for
// LOOPS:           memref.load %{{.*}} : memref<?x96xf32>
// LOOPS:         gpu.all_reduce add
// LOOPS:         scf.for
// LOOPS:           memref.load %{{.*}} : memref<?x96xf32>
// LOOPS:         return

// A row longer than registers x 32 (96 > 2 x 32): the loops stay.
// SHORT-LABEL: func.func @layer_norm
// SHORT:         scf.for
// SHORT:         return

// A block size chosen at run time by the row count (32, or 256 for at
// most 1,024 rows): a uniform test on it takes the register rows with 32,
// the loops otherwise.
// FEW-LABEL: func.func @layer_norm
// FEW:         scf.parallel
// FEW:           %[[B32:.*]] = arith.cmpi eq, %{{.*}}, %c32
// FEW:           scf.if %[[B32]] {
// FEW-NOT:         scf.for
// FEW:             gpu.shuffle  xor
// FEW:           } else {
// FEW:             scf.for
// FEW:             gpu.all_reduce add
// FEW:           }
// FEW:         return

// The whole pipeline down to the kernel's PTX (global loads of the row).
// PTX-LABEL: gpu.binary @layer_norm_kernel
// PTX-SAME:    ld.global

// BAD: tfc-gpu-row-reductions: registers must be in [0, 64], got 65

#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @layer_norm(%x: memref<?x96xf32>, %r: memref<?x96xf32>,
                      %g: memref<96xf32>) -> memref<?x96xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x96xf32>
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 0.0104166667 : f32
  %eps = arith.constant 1.0e-12 : f32
  %h = memref.alloc(%n) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#map, #map, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : memref<?x96xf32>, memref<?x96xf32>) outs(%h : memref<?x96xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  %sum = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<?x96xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  %d = memref.alloc(%n) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%h, %sum : memref<?x96xf32>, memref<?xf32>) outs(%d : memref<?x96xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.mulf %s, %inv : f32
    %c = arith.subf %a, %m : f32
    linalg.yield %c : f32
  }
  %ss = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%d : memref<?x96xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %q = arith.mulf %a, %a : f32
    %t = arith.addf %q, %s : f32
    linalg.yield %t : f32
  }
  %y = memref.alloc(%n) : memref<?x96xf32>
  linalg.generic {indexing_maps = [#map, #row, #col, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%d, %ss, %g : memref<?x96xf32>, memref<?xf32>, memref<96xf32>)
      outs(%y : memref<?x96xf32>) {
  ^bb0(%a: f32, %s: f32, %w: f32, %o: f32):
    %m = arith.mulf %s, %inv : f32
    %e = arith.addf %m, %eps : f32
    %k = math.rsqrt %e : f32
    %v = arith.mulf %a, %k : f32
    %p = arith.mulf %v, %w : f32
    linalg.yield %p : f32
  }
  return %y : memref<?x96xf32>
}

// -----

// A row of 70: 3 elements a thread, the third inside the row for threads 0
// to 5 only: its index is clamped to the row's last element, its store
// guarded and its reduction term dropped outside.
// CHECK-LABEL: func.func @odd_row
// CHECK-NOT:     scf.for
// CHECK:         %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c70
// CHECK:         arith.select %[[IN]], %{{.*}}, %c69
// CHECK:         gpu.shuffle  xor
// CHECK:         scf.if %[[IN]] {
// CHECK:           memref.store
// CHECK:         return
func.func @odd_row(%x: memref<64x70xf32>) -> memref<64x70xf32> {
  %zero = arith.constant 0.0 : f32
  %ss = memref.alloc() : memref<64xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x70xf32>) outs(%ss : memref<64xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  %y = memref.alloc() : memref<64x70xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<64x70xf32>, memref<64xf32>) outs(%y : memref<64x70xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %v = arith.divf %a, %s : f32
    linalg.yield %v : f32
  }
  return %y : memref<64x70xf32>
}

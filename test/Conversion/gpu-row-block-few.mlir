// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 few-rows=1024 few-block-size=256 fuse=true}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 few-rows=1024 few-block-size=256 fuse=true}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true}))" -split-input-file | FileCheck %s --check-prefix=FIXED
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 few-rows=1024 few-block-size=0 fuse=true}))" -split-input-file | FileCheck %s --check-prefix=FIXED
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 few-rows=1024 few-block-size=100}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// The block that takes a row has block-size threads, or few-block-size where
// the grid has at most few-rows rows (GpuRowReductions.h, RowBlock): a
// decode step's few rows on a warp each leave most SMs idle, thousands of
// rows fill them. A dynamic row count decides at run time: a select on
// rows <= few-rows feeds the thread bound, the row loop's stride and the
// block reduction (which reads the block size at run time).

// A fused chain (x * rsqrt(mean(x^2))) over a dynamic number of rows.
// CHECK-LABEL: func.func @rms_dynamic
// CHECK:         %[[C1024:.*]] = arith.constant 1024 : index
// CHECK:         %[[FEW:.*]] = arith.cmpi ule, %[[ROWS:.*]], %[[C1024]] : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK:         %[[B:.*]] = arith.select %[[FEW]], %[[C256]], %[[C32]] : index
// CHECK:         scf.parallel (%{{.*}}, %[[T:.*]]) = (%{{.*}}, %{{.*}}) to (%[[ROWS]], %[[B]])
// CHECK:           scf.for %{{.*}} = %[[T]] to %{{.*}} step %[[B]] iter_args
// CHECK:           gpu.all_reduce add
// CHECK:         return

// The kernel takes the block size at run time (no constant-size barrier
// arithmetic to go wrong): the reduction still lowers to shuffles, shared
// memory and a barrier.
// PTX-LABEL: gpu.binary @rms_dynamic_kernel
// PTX-SAME:    %ntid.x
// PTX-SAME:    shfl.sync.bfly
// PTX-SAME:    bar.sync

// Without few-rows (or with few-block-size=0, off): one constant size.
// FIXED-LABEL: func.func @rms_dynamic
// FIXED-NOT:     arith.select
// FIXED:         %[[C32:.*]] = arith.constant 32 : index
// FIXED:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[C32]])

// BAD: few-rows must be >= 0 and few-block-size 0 (off) or a multiple of 32 in [32, 1024], got 1024 / 100

#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @rms_dynamic(%x: memref<?x576xf32>) -> memref<?x576xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x576xf32>
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 0.00173611111 : f32
  %ss = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x576xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %q = arith.mulf %a, %a : f32
    %r = arith.addf %q, %s : f32
    linalg.yield %r : f32
  }
  %y = memref.alloc(%n) : memref<?x576xf32>
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<?x576xf32>, memref<?xf32>) outs(%y : memref<?x576xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %m = arith.mulf %s, %inv : f32
    %k = math.rsqrt %m : f32
    %r = arith.mulf %a, %k : f32
    linalg.yield %r : f32
  }
  return %y : memref<?x576xf32>
}

// -----

// Static row counts decide at compile time: 4 rows take 256 threads a row,
// 4096 rows 32 (a single row reduction each, not fused).
// CHECK-LABEL: func.func @sums_static
// CHECK-NOT:     arith.select
// CHECK:         %[[C256:.*]] = arith.constant 256 : index
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[C256]])
// CHECK:           gpu.all_reduce add
// CHECK:         %[[C32:.*]] = arith.constant 32 : index
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[C32]])
// CHECK:           gpu.all_reduce add
// CHECK:         return
func.func @sums_static(%a: memref<4x576xf32>, %sa: memref<4xf32>,
                       %b: memref<4096x384xf32>, %sb: memref<4096xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x576xf32>) outs(%sa : memref<4xf32>) {
  ^bb0(%x: f32, %s: f32):
    %r = arith.addf %x, %s : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%b : memref<4096x384xf32>) outs(%sb : memref<4096xf32>) {
  ^bb0(%x: f32, %s: f32):
    %r = arith.addf %x, %s : f32
    linalg.yield %r : f32
  }
  return
}

// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=100}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// Row reductions (GpuRowReductions.cpp): one block of 128 threads per output
// element; each thread folds k = t, t + 128, ... into a partial that starts
// at the combiner's neutral value, gpu.all_reduce combines the block's
// partials, and thread 0 folds the result into the output's initial value.
// The mapping attribute keeps tfc-gpu-map-loops off the loop.

// CHECK-LABEL: func.func @softmax_denominator
// CHECK:         %[[ROWS:.*]] = arith.muli
// CHECK:         %[[C128:.*]] = arith.constant 128 : index
// CHECK:         scf.parallel (%[[R:.*]], %[[T:.*]]) = (%[[C0:.*]], %{{.*}}) to (%[[ROWS]], %[[C128]])
// CHECK:           %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:           %[[P:.*]] = scf.for %[[K:.*]] = %[[T]] to %{{.*}} step %[[C128]] iter_args(%[[A:.*]] = %[[ZERO]]) -> (f32)
// CHECK:             memref.load %{{.*}}[%{{.*}}, %{{.*}}] : memref<?x64xf32>
// CHECK:             math.exp
// CHECK:             %[[S:.*]] = arith.addf %[[A]], %{{.*}} : f32
// CHECK:             scf.yield %[[S]]
// CHECK:           %[[ALL:.*]] = gpu.all_reduce add %[[P]] uniform
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %[[C0]]
// CHECK:           scf.if %[[FIRST]] {
// CHECK:             %[[OLD:.*]] = memref.load %{{.*}} : memref<?xf32>
// CHECK:             %[[NEW:.*]] = arith.addf %[[OLD]], %[[ALL]] : f32
// CHECK:             memref.store %[[NEW]]
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK-NOT:     linalg.generic

// The kernel: warp shuffles and shared memory (the block reduction), no
// loop over the whole row in one thread.
// PTX-LABEL: gpu.binary @softmax_denominator_kernel
// PTX-SAME:    shfl.sync.bfly
// PTX-SAME:    .shared
// PTX-SAME:    bar.sync
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @softmax_denominator(%x: memref<?x64xf32>, %sum: memref<?xf32>) {
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %e = math.exp %a : f32
    %s = arith.addf %acc, %e : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Three parallel dims (batch, head, query) and a broadcast input: the rows
// are delinearized (rem/div), the max's neutral value is -inf, and the
// output is read back through its own map.
// CHECK-LABEL: func.func @softmax_max
// CHECK:         scf.parallel
// CHECK:           arith.remui
// CHECK:           arith.divui
// CHECK:           arith.constant 0xFF800000 : f32
// CHECK:           scf.for
// CHECK:             arith.subf
// CHECK:             arith.maximumf
// CHECK:           gpu.all_reduce maximumf
// CHECK:           scf.if
// CHECK:             arith.maximumf
// CHECK:             memref.store
// PTX-LABEL: gpu.binary @softmax_max_kernel
// PTX-SAME:    shfl.sync.bfly
#in = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bias = affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @softmax_max(%x: memref<?x12x?x?xf32>, %m: memref<?x1x1x?xf32>, %o: memref<?x12x?xf32>) {
  linalg.generic {indexing_maps = [#in, #bias, #out],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %m : memref<?x12x?x?xf32>, memref<?x1x1x?xf32>) outs(%o : memref<?x12x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %d = arith.subf %a, %b : f32
    %r = arith.maximumf %d, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not mapped (the plain mapping takes them): a reduction that is not the
// last loop, a combiner gpu.all_reduce has no name for, an f16 accumulator,
// and a single row.
// CHECK-LABEL: func.func @kept
// CHECK-NOT:     gpu.all_reduce
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT:     gpu.all_reduce
#m2 = affine_map<(d0, d1) -> (d0, d1)>
#c0 = affine_map<(d0, d1) -> (d1)>
#c1 = affine_map<(d0, d1) -> (d0)>
func.func @kept(%x: memref<?x?xf32>, %col: memref<?xf32>, %row: memref<?xf32>,
                %h: memref<?x?xf16>, %hr: memref<?xf16>, %one: memref<1x64xf32>, %s: memref<1xf32>) {
  linalg.generic {indexing_maps = [#m2, #c0], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<?x?xf32>) outs(%col : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#m2, #c1], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf32>) outs(%row : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.subf %acc, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#m2, #c1], iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<?x?xf16>) outs(%hr : memref<?xf16>) {
  ^bb0(%a: f16, %acc: f16):
    %r = arith.addf %a, %acc : f16
    linalg.yield %r : f16
  }
  linalg.generic {indexing_maps = [#m2, #c1], iterator_types = ["parallel", "reduction"]}
      ins(%one : memref<1x64xf32>) outs(%s : memref<1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// BAD: tfc-gpu-row-reductions: block-size must be a multiple of 32 in [32, 1024], got 100

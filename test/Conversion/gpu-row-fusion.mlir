// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=false}))" -split-input-file | FileCheck %s --check-prefix=NOFUSE
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX

// Row chains (GpuRowReductions.cpp, option fuse): a softmax over the rows of
// a [rows, 64] buffer is fill, max, exp, fill, sum, div, six kernels in the
// plain mapping. Every buffer it writes is an allocation accessed row by
// row, so the run becomes one block per row: the ops one after the other,
// separated by gpu.barrier, the reductions as block reductions.

// CHECK-LABEL: func.func @softmax
// CHECK:         scf.parallel (%[[R:.*]], %[[T:.*]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// The max: thread 0 fills, then the block reduction.
// CHECK:           scf.if
// CHECK:             memref.store
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK:             arith.maximumf
// CHECK:           gpu.all_reduce maximumf
// CHECK:           gpu.barrier
// exp(x - max), strided over the row.
// CHECK:           scf.for
// CHECK:             math.exp
// CHECK:             memref.store
// CHECK:           gpu.barrier
// CHECK:           scf.if
// CHECK:           gpu.barrier
// CHECK:           gpu.all_reduce add
// CHECK:           gpu.barrier
// CHECK:           scf.for
// CHECK:             arith.divf
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK-NOT:     scf.parallel
// CHECK-NOT:     linalg.
// CHECK:         return

// Without fuse: the two reductions each become a block reduction, the rest
// stay linalg ops (each its own kernel later).
// NOFUSE-LABEL: func.func @softmax
// NOFUSE:         linalg.fill
// NOFUSE:         gpu.all_reduce maximumf
// NOFUSE:         linalg.generic
// NOFUSE:         linalg.fill
// NOFUSE:         gpu.all_reduce add
// NOFUSE:         linalg.generic

// One kernel for the chain.
// PTX-LABEL: gpu.binary @softmax_kernel
// PTX-SAME:    __nv_expf
// PTX-SAME:    shfl.sync.bfly
// PTX-SAME:    bar.sync
// PTX-SAME:    div.rn.f32
// PTX-NOT:   gpu.binary @softmax_kernel_0
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @softmax(%x: memref<?x64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %max = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%ninf : f32) outs(%max : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%max : memref<?xf32>) {
  ^bb0(%a: f32, %m: f32):
    %r = arith.maximumf %a, %m : f32
    linalg.yield %r : f32
  }
  %e = memref.alloc(%n) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : memref<?x64xf32>, memref<?xf32>) outs(%e : memref<?x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %ex = math.exp %d : f32
    linalg.yield %ex : f32
  }
  %sum = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%e : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %a, %s : f32
    linalg.yield %r : f32
  }
  %y = memref.alloc(%n) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%e, %sum : memref<?x64xf32>, memref<?xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  }
  return %y : memref<?x64xf32>
}

// -----

// Not row-local: the last op reads the sums of the *next* row (d0 + 1),
// which another block computes, so the chain ends before it: the fill and
// the sum become one kernel, the shifted read stays a linalg op.
// CHECK-LABEL: func.func @cross_row
// CHECK:         scf.parallel
// CHECK:           scf.if
// CHECK:           gpu.barrier
// CHECK:           gpu.all_reduce add
// CHECK-NOT:       gpu.barrier
// CHECK:         } {mapping
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%{{.*}}, %[[SUM:.*]] : memref<?x64xf32>, memref<?xf32>)
// CHECK:         return
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#next = affine_map<(d0, d1) -> (d0 + 1)>
func.func @cross_row(%x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %a, %s : f32
    linalg.yield %r : f32
  }
  %c1 = arith.constant 1 : index
  %m = arith.subi %n, %c1 : index
  %ys = memref.subview %y[0, 0] [%m, 64] [1, 1] : memref<?x64xf32> to memref<?x64xf32, strided<[64, 1]>>
  linalg.generic {indexing_maps = [#map, #next, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%ys : memref<?x64xf32, strided<[64, 1]>>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A chain that writes a function argument (not an allocation another
// block's rows can not reach) is not fused: only allocations are written.
// CHECK-LABEL: func.func @writes_argument
// CHECK:         linalg.fill
// CHECK:         gpu.all_reduce add
// CHECK-NOT:     gpu.barrier
// CHECK:         linalg.generic
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @writes_argument(%x: memref<?x64xf32>, %sum: memref<?xf32>, %y: memref<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %r = arith.addf %a, %s : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  }
  return
}

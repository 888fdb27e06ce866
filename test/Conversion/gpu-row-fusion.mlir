// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=false}))" -split-input-file | FileCheck %s --check-prefix=NOFUSE
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true warp-rows=4}))" -split-input-file | FileCheck %s --check-prefix=WARP
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true warp-rows=4}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTXW
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=128 fuse=true warp-rows=33}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true}))" -split-input-file | FileCheck %s --check-prefix=REMAT
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=2}))" -split-input-file | FileCheck %s --check-prefix=UNROLL
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true unroll=17}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BADU

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
// warp-rows=4: a warp per row, four rows per block of 128 threads (row =
// block * 4 + t / 32, lane = t % 32, the rows past the end skipped); the
// reductions are butterflies of shuffles that leave the value in every
// lane, and the ops are separated by the warp's barrier (__syncwarp), not
// the block's.
// WARP-LABEL: func.func @softmax
// WARP:         %[[BLOCKS:.*]] = arith.ceildivui %{{.*}}, %[[C4:.*]] : index
// WARP:         scf.parallel (%[[G:.*]], %[[T:.*]]) = (%{{.*}}, %{{.*}}) to (%[[BLOCKS]], %{{.*}})
// WARP:           %[[ROW:.*]] = arith.addi
// WARP:           %[[LANE:.*]] = arith.remui %[[T]]
// WARP:           %[[IN:.*]] = arith.cmpi ult, %[[ROW]]
// WARP:           scf.if %[[IN]] {
// WARP:             nvvm.bar.warp.sync
// WARP:             scf.for %{{.*}} = %[[LANE]] to
// WARP:             gpu.shuffle  xor %{{.*}}, %[[C16:.*]], %[[W:.*]] : f32
// WARP-COUNT-4:     gpu.shuffle  xor
// WARP:             nvvm.bar.warp.sync
// WARP:             math.exp
// WARP-NOT:         gpu.all_reduce
// WARP-NOT:         gpu.barrier
// WARP:             arith.divf
// WARP:         return

// PTXW-LABEL: gpu.binary @softmax_kernel
// PTXW-SAME:    bar.warp.sync
// PTXW-SAME:    shfl.sync.bfly
// PTXW-SAME:    div.rn.f32

// BAD: warp-rows must be in [0, 32], got 33

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

// -----

// MiniLM's softmax as bufferization leaves it: in place on one buffer
// (%s: scale + mask, exp, div), one row buffer reused for the max and then
// the sum. With remat=true the max and the sum stay in registers after
// their block reductions, the scaled scores and the exponentials are
// recomputed where they are read (never stored), and the only full-row
// store is the result's. The max the exponentials need is the SSA value
// of the max reduction, not a load of the row buffer, which holds the sum
// by then.
// REMAT-LABEL: func.func @softmax_inplace
// REMAT:         scf.parallel
// REMAT:           %[[MAXP:.*]] = scf.for
// REMAT:             arith.mulf
// REMAT:             arith.addf
// REMAT:             arith.maximumf
// REMAT-NOT:         memref.store
// REMAT:           %[[MAXR:.*]] = gpu.all_reduce  maximumf %[[MAXP]]
// REMAT:           %[[MAX:.*]] = arith.maximumf %[[MAXR]], %{{.*}} : f32
// REMAT:           %[[SUMP:.*]] = scf.for
// REMAT-NOT:         memref.store
// REMAT:             %[[D:.*]] = arith.subf %{{.*}}, %[[MAX]] : f32
// REMAT:             math.exp %[[D]]
// REMAT:           %[[SUMR:.*]] = gpu.all_reduce  add %[[SUMP]]
// REMAT:           %[[SUM:.*]] = arith.addf %[[SUMR]], %{{.*}} : f32
// REMAT:           scf.for
// REMAT:             arith.subf %{{.*}}, %[[MAX]] : f32
// REMAT:             %[[E:.*]] = math.exp
// REMAT:             %[[Q:.*]] = arith.divf %[[E]], %[[SUM]] : f32
// REMAT:             memref.store %[[Q]], %[[S:.*]][
// REMAT:           scf.reduce
// REMAT:         return %[[S]]
// unroll=2: each iteration of a row loop handles k and k + 32 (clamped to
// the row's last element when past it), both elements' loads before any
// use; a reduction masks the second with a select, a store is guarded.
// UNROLL-LABEL: func.func @softmax_inplace
// UNROLL:         %[[STEP:.*]] = arith.muli %[[B:c32[_0-9]*]], %{{.*}} : index
// UNROLL:         scf.for %[[K:.*]] = %{{.*}} to %[[LEN:.*]] step %[[STEP]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// UNROLL:           %[[LAST:.*]] = arith.subi %[[LEN]]
// UNROLL:           %[[K2:.*]] = arith.addi %[[K]], %[[B]]
// UNROLL:           %[[IN:.*]] = arith.cmpi ult, %[[K2]], %[[LEN]]
// UNROLL:           arith.select %[[IN]], %[[K2]], %[[LAST]] : index
// UNROLL:           %[[M1:.*]] = arith.maximumf %{{.*}}, %[[ACC]]
// UNROLL:           %[[M2:.*]] = arith.maximumf %{{.*}}, %[[M1]]
// UNROLL:           %[[M:.*]] = arith.select %[[IN]], %[[M2]], %[[M1]] : f32
// UNROLL:           scf.yield %[[M]]
// UNROLL:         gpu.all_reduce  maximumf
// UNROLL:         scf.for
// UNROLL:         gpu.all_reduce  add
// UNROLL:         scf.for
// UNROLL:           arith.cmpi ult
// UNROLL:           arith.divf
// UNROLL:           arith.divf
// UNROLL:           memref.store
// UNROLL:           scf.if
// UNROLL-NEXT:        memref.store

// BADU: unroll must be in [1, 16], got 17

#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @softmax_inplace(%x: memref<?x64xf32>, %mask: memref<?x64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.125 : f32
  %s = memref.alloc(%n) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#map, #map, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %mask : memref<?x64xf32>, memref<?x64xf32>) outs(%s : memref<?x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %t = arith.mulf %a, %scale : f32
    %u = arith.addf %t, %m : f32
    linalg.yield %u : f32
  }
  %r = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%ninf : f32) outs(%r : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%s : memref<?x64xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.maximumf %a, %acc : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s, %r : memref<?x64xf32>, memref<?xf32>) outs(%s : memref<?x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    linalg.yield %e : f32
  }
  linalg.fill ins(%zero : f32) outs(%r : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%s : memref<?x64xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.addf %a, %acc : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%s, %r : memref<?x64xf32>, memref<?xf32>) outs(%s : memref<?x64xf32>) {
  ^bb0(%a: f32, %q: f32, %o: f32):
    %v = arith.divf %a, %q : f32
    linalg.yield %v : f32
  }
  return %s : memref<?x64xf32>
}

// -----

// Not rematerialized: the centred values %c are returned (live after the
// chain), so the op that computes them is emitted and its readers load.
// The mean is still a register.
// REMAT-LABEL: func.func @live_intermediate
// REMAT:         scf.parallel
// REMAT:           %[[SUMR:.*]] = gpu.all_reduce  add
// REMAT:           %[[MEAN:.*]] = arith.addf %[[SUMR]], %{{.*}} : f32
// REMAT:           scf.for
// REMAT:             arith.subf %{{.*}}, %[[MEAN]] : f32
// REMAT:             memref.store
// REMAT:           gpu.barrier
// REMAT:           scf.for
// REMAT:             %[[L:.*]] = memref.load %[[C:.*]][
// REMAT:             arith.mulf %[[L]], %[[L]]
// REMAT:         return %[[C]]
#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @live_intermediate(%x: memref<?x64xf32>) -> (memref<?x64xf32>, memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  %zero = arith.constant 0.0 : f32
  %sum = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.addf %a, %acc : f32
    linalg.yield %v : f32
  }
  %c = memref.alloc(%n) : memref<?x64xf32>
  linalg.generic {indexing_maps = [#map, #row, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%c : memref<?x64xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    linalg.yield %d : f32
  }
  %sq = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sq : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<?x64xf32>) outs(%sq : memref<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %p = arith.mulf %a, %a : f32
    %v = arith.addf %p, %acc : f32
    linalg.yield %v : f32
  }
  return %c, %sq : memref<?x64xf32>, memref<?xf32>
}

// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=2 vector=4}))" -split-input-file | FileCheck %s
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=2 vector=4}),convert-linalg-to-parallel-loops,canonicalize,cse,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,canonicalize,cse,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,canonicalize,cse,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" -split-input-file | FileCheck %s --check-prefix=PTX
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=true unroll=2}))" -split-input-file | FileCheck %s --check-prefix=SCALAR
// RUN: tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true remat=false unroll=2 vector=4}))" -split-input-file | FileCheck %s --check-prefix=NOREMAT
// RUN: not tfc-opt %s --pass-pipeline="builtin.module(func.func(tfc-gpu-row-reductions{block-size=32 fuse=true vector=3}))" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// Row chains with vector=V (tfc --cuda-row-vector, GpuRowChains.cpp): a
// thread takes groups of V consecutive row elements, and each access whose
// last index is the row's loop on a memref with unit last stride is one
// vector load / store of the group. A run-time test (each such memref's
// first element aligned to V elements, its other strides multiples of V)
// picks the vector emission; the scalar one stays in the else branch.

// A residual add + RMS norm with a half weight and a half result, as in a
// decoder layer: rows of 384 (a multiple of 4).
// CHECK-LABEL: func.func @rms_residual
// CHECK:         scf.parallel
// The run-time test: aligned pointers, offsets and row strides.
// CHECK:           memref.extract_strided_metadata
// CHECK:           memref.extract_aligned_pointer_as_index
// CHECK:           arith.remui
// CHECK:           scf.if %{{.*}} {
// The vector emission: groups of 4 (96 of them a row), loads as vectors.
// CHECK:             scf.for
// CHECK:               vector.load %{{.*}} : memref<?x384xf32>, vector<4xf32>
// CHECK:               vector.load %{{.*}} : memref<?x384xf32>, vector<4xf32>
// CHECK:               vector.extract
// CHECK:             gpu.all_reduce add
// CHECK:             gpu.barrier
// CHECK:             scf.for
// CHECK:               vector.load %{{.*}} : memref<384xf16>, vector<4xf16>
// CHECK:               vector.from_elements
// CHECK:               vector.store %{{.*}} : memref<?x384xf16>, vector<4xf16>
// CHECK:           } else {
// The scalar emission, unchanged.
// CHECK-NOT:         vector.load
// CHECK:             memref.load
// CHECK:             gpu.all_reduce add
// CHECK:             memref.store
// CHECK:           }
// CHECK:         return

// The kernel: 16-byte loads of f32, 8-byte stores of f16.
// PTX-LABEL: gpu.binary @rms_residual_kernel
// PTX-SAME:    ld.global.v4.b32
// PTX-SAME:    st.global.v2.b32

// Without vector: no vector access, no test.
// SCALAR-LABEL: func.func @rms_residual
// SCALAR-NOT:     vector.
// SCALAR-NOT:     extract_aligned_pointer
// SCALAR:         return

// BAD: tfc-gpu-row-reductions: vector must be 1, 2, 4 or 8, got 3

// Without rematerialization every op is emitted (the row-scalar copy and
// ops included), still with vector row loops.
// NOREMAT-LABEL: func.func @rms_residual
// NOREMAT:         vector.store %{{.*}} : memref<?x384xf32>, vector<4xf32>
// NOREMAT-LABEL: func.func @rowscalar_copy
// NOREMAT:         memref.load %{{.*}} : memref<64xf32>
// NOREMAT:         vector.load %{{.*}} : memref<64x128xf32>, vector<4xf32>

#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @rms_residual(%x: memref<?x384xf32>, %r: memref<?x384xf32>,
                        %g: memref<384xf16>) -> memref<?x384xf16> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x384xf32>
  %zero = arith.constant 0.0 : f32
  %inv = arith.constant 0.0026041667 : f32
  %h = memref.alloc(%n) : memref<?x384xf32>
  linalg.generic {indexing_maps = [#map, #map, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : memref<?x384xf32>, memref<?x384xf32>) outs(%h : memref<?x384xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  %ss = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#map, #row],
                  iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<?x384xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %q = arith.mulf %a, %a : f32
    %t = arith.addf %q, %s : f32
    linalg.yield %t : f32
  }
  %y = memref.alloc(%n) : memref<?x384xf16>
  linalg.generic {indexing_maps = [#map, #row, #col, #map],
                  iterator_types = ["parallel", "parallel"]}
      ins(%h, %ss, %g : memref<?x384xf32>, memref<?xf32>, memref<384xf16>)
      outs(%y : memref<?x384xf16>) {
  ^bb0(%a: f32, %s: f32, %w: f16, %o: f16):
    %m = arith.mulf %s, %inv : f32
    %k = math.rsqrt %m : f32
    %v = arith.mulf %a, %k : f32
    %wf = arith.extf %w : f16 to f32
    %p = arith.mulf %v, %wf : f32
    %t = arith.truncf %p : f32 to f16
    linalg.yield %t : f16
  }
  return %y : memref<?x384xf16>
}

// -----

// A row length that is not a multiple of V (7): the scalar emission only.
// CHECK-LABEL: func.func @odd_rows
// CHECK-NOT:     vector.
// CHECK:         gpu.all_reduce add
// CHECK:         return
// SCALAR-LABEL: func.func @odd_rows
func.func @odd_rows(%x: memref<64x7xf32>) -> memref<64x7xf32> {
  %zero = arith.constant 0.0 : f32
  %ss = memref.alloc() : memref<64xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<64xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x7xf32>) outs(%ss : memref<64xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  %y = memref.alloc() : memref<64x7xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                   affine_map<(d0, d1) -> (d0)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<64x7xf32>, memref<64xf32>) outs(%y : memref<64x7xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %v = arith.divf %a, %s : f32
    linalg.yield %v : f32
  }
  return %y : memref<64x7xf32>
}

// -----

// A row-scalar op reading a [rows] argument (its "last loop" is a row dim):
// scalar accesses in vector mode too (it is not a row loop, and the test
// does not cover its memrefs); the row loops around it still vectorize.
// CHECK-LABEL: func.func @rowscalar_arg
// CHECK:         scf.if
// CHECK:           vector.load %{{.*}} : memref<?x384xf32>, vector<4xf32>
// CHECK:           memref.load %{{.*}} : memref<?xf32>
// CHECK-NOT:       vector.load %{{.*}} : memref<?xf32>
// CHECK:         } else {
// CHECK:         return
#map3 = affine_map<(d0, d1) -> (d0, d1)>
#row3 = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @rowscalar_arg(%x: memref<?x384xf32>, %scale: memref<?xf32>) -> memref<?x384xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x384xf32>
  %zero = arith.constant 0.0 : f32
  %ss = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<?xf32>)
  linalg.generic {indexing_maps = [#map3, #row3],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x384xf32>) outs(%ss : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  %m = memref.alloc(%n) : memref<?xf32>
  linalg.generic {indexing_maps = [#id1, #id1, #id1],
                  iterator_types = ["parallel"]}
      ins(%ss, %scale : memref<?xf32>, memref<?xf32>) outs(%m : memref<?xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %t = arith.mulf %a, %s : f32
    linalg.yield %t : f32
  }
  %y = memref.alloc(%n) : memref<?x384xf32>
  linalg.generic {indexing_maps = [#map3, #row3, #map3],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : memref<?x384xf32>, memref<?xf32>) outs(%y : memref<?x384xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %v = arith.divf %a, %s : f32
    linalg.yield %v : f32
  }
  return %y : memref<?x384xf32>
}

// -----

// A row-scalar copy from an argument (a reduction's initial values), and
// a static shape: the copy's loop sizes are constants, so the chain takes
// the vector mode, with the copy's accesses scalar.
// CHECK-LABEL: func.func @rowscalar_copy
// CHECK:         scf.if
// CHECK:           memref.load %{{.*}} : memref<64xf32>
// CHECK:           vector.load %{{.*}} : memref<64x128xf32>, vector<4xf32>
// CHECK:         } else {
// CHECK:         return
#map3 = affine_map<(d0, d1) -> (d0, d1)>
#row3 = affine_map<(d0, d1) -> (d0)>
func.func @rowscalar_copy(%x: memref<64x128xf32>, %init: memref<64xf32>) -> memref<64x128xf32> {
  %ss = memref.alloc() : memref<64xf32>
  memref.copy %init, %ss : memref<64xf32> to memref<64xf32>
  linalg.generic {indexing_maps = [#map3, #row3],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x128xf32>) outs(%ss : memref<64xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  %y = memref.alloc() : memref<64x128xf32>
  linalg.generic {indexing_maps = [#map3, #row3, #map3],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss : memref<64x128xf32>, memref<64xf32>) outs(%y : memref<64x128xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %v = arith.divf %a, %s : f32
    linalg.yield %v : f32
  }
  return %y : memref<64x128xf32>
}

// The GPU pipeline's stages after bufferization, on a small linalg op:
// loops -> one 1-D grid -> gpu.launch -> outlined kernel with the NVVM
// target -> PTX for sm_90 (format=isa needs no ptxas) -> host calls into
// libtfcrt's mgpu* launcher. No GPU needed.
// RUN: tfc-opt %s --pass-pipeline="builtin.module(convert-linalg-to-parallel-loops,canonicalize,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3})" | FileCheck %s --check-prefix=OUTLINED
// RUN: tfc-opt %s --pass-pipeline="builtin.module(convert-linalg-to-parallel-loops,canonicalize,func.func(tfc-gpu-map-loops{block-size=256},convert-parallel-loops-to-gpu),gpu-kernel-outlining,lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,reconcile-unrealized-casts),gpu-module-to-binary{format=isa},finalize-memref-to-llvm{use-generic-functions=true},convert-arith-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,gpu-to-llvm,reconcile-unrealized-casts)" | FileCheck %s --check-prefix=BINARY

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

// OUTLINED-LABEL: func.func @softmax_denominator
// OUTLINED:         gpu.launch_func @softmax_denominator_kernel::@softmax_denominator_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
// OUTLINED:       gpu.module @softmax_denominator_kernel [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">]
// OUTLINED:         gpu.func @softmax_denominator_kernel
// OUTLINED-SAME:      kernel {
// OUTLINED:           gpu.block_id x
// OUTLINED:           gpu.thread_id x
// OUTLINED:           math.exp

// BINARY-LABEL: llvm.func @softmax_denominator
// BINARY:         gpu.launch_func @softmax_denominator_kernel::@softmax_denominator_kernel
// BINARY:       gpu.binary @softmax_denominator_kernel
// BINARY-SAME:    #nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">
// BINARY-SAME:    .target sm_90
// BINARY-SAME:    .entry softmax_denominator_kernel

// RUN: tfc-opt %s --pass-pipeline='builtin.module(gpu.module(tfc-gpu-pdl))' | FileCheck %s

// tfc-gpu-pdl (tfc --cuda-pdl): every kernel begins with griddepcontrol wait
// (the previous grid finished, its stores visible), then launch_dependents
// (the next grid may be scheduled), before any of its own work; functions
// that are not kernels are left alone.

// CHECK-LABEL: gpu.func @kern
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: arith.constant
// CHECK: memref.store
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: griddepcontrol
// CHECK: gpu.return
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @kern(%arg0: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %f = arith.constant 1.0 : f32
      memref.store %f, %arg0[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @helper(%arg0: f32) -> f32 {
      gpu.return %arg0 : f32
    }
  }
}

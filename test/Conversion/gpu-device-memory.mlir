// RUN: tfc-opt %s --split-input-file --verify-diagnostics --pass-pipeline="builtin.module(func.func(tfc-gpu-device-memory))" | FileCheck %s

// Buffers are device memory during a GPU run: host code's copies become
// parallel loops (kernels once mapped), host stores and host loops over
// memory run in one GPU thread, and shape arithmetic stays on the host.
// CHECK-LABEL: func.func @host_code
// CHECK-SAME:    (%[[A:.*]]: memref<?x4xf32>, %[[B:.*]]: memref<?x4xf32>, %[[S:.*]]: memref<1xi64>, %[[V:.*]]: i64, %[[R:.*]]: memref<f32>)
// CHECK:         memref.dim %[[A]]
// CHECK:         scf.parallel (%[[I:.*]], %[[J:.*]]) = ({{.*}}) to ({{.*}})
// CHECK:           %[[X:.*]] = memref.load %[[A]][%[[I]], %[[J]]]
// CHECK:           memref.store %[[X]], %[[B]][%[[I]], %[[J]]]
// CHECK:         scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1{{.*}})
// CHECK-NEXT:      memref.store %[[V]], %[[S]][%c0]
// CHECK:         scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c1{{.*}})
// CHECK-NEXT:      scf.for
// CHECK-NOT:     memref.copy
func.func @host_code(%a: memref<?x4xf32>, %b: memref<?x4xf32>, %s: memref<1xi64>, %v: i64, %r: memref<f32>) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %n = memref.dim %a, %c0 : memref<?x4xf32>
  memref.copy %a, %b : memref<?x4xf32> to memref<?x4xf32>
  memref.store %v, %s[%c0] : memref<1xi64>
  scf.for %j = %c0 to %c4 step %c1 {
    %x = memref.load %b[%c0, %j] : memref<?x4xf32>
    %acc = memref.load %r[] : memref<f32>
    %y = arith.addf %x, %acc : f32
    memref.store %y, %r[] : memref<f32>
  }
  return %n : index
}

// -----

// A value host code would read from a buffer cannot be had.
func.func @host_read(%s: memref<1xi64>) -> i64 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{tfc-gpu-device-memory: host code reads a buffer}}
  %v = memref.load %s[%c0] : memref<1xi64>
  return %v : i64
}


// -----

// A rank-0 integer argument is the exception: the runtime passes such inputs
// of a GPU model in pinned host memory that both sides read (a KV-cache
// step's `past`, which sets the rows it writes), so host code may load it.
// A rank-0 float argument, or one reached through a view that is not a
// cast, is still refused.
// CHECK-LABEL: func.func @host_scalar
// CHECK:         %[[P:.*]] = memref.load %arg0[] : memref<i64>
// CHECK:         return %[[P]]
func.func @host_scalar(%past: memref<i64>) -> i64 {
  %p = memref.load %past[] : memref<i64>
  return %p : i64
}

// -----

func.func @host_scalar_f32(%x: memref<f32>) -> f32 {
  // expected-error @+1 {{tfc-gpu-device-memory: host code reads a buffer}}
  %v = memref.load %x[] : memref<f32>
  return %v : f32
}

// -----

// What a GPU loop takes from host code and derives from a scalar argument
// (its load, integer arithmetic, a view at an offset from it) is recomputed
// inside the loop: the kernel reads `past` itself, so a CUDA graph captured
// at one position replays at every other. With no host read left, the
// function is marked tfc.scalars_on_device.
// CHECK-LABEL: func.func @sink_past
// CHECK-SAME:    attributes {tfc.scalars_on_device}
// CHECK-NOT:     memref.load %arg0
// CHECK:         scf.parallel (%[[I:.*]], %[[K:.*]]) =
// CHECK-NEXT:      %[[P:.*]] = memref.load %arg0[] : memref<i64>
// CHECK-NEXT:      %[[O:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK-NEXT:      %[[V:.*]] = memref.subview %arg2[%[[O]], 0] [%{{.*}}, 4] [1, 1]
// CHECK:           memref.store %{{.*}}, %[[V]][%[[I]], %[[K]]]
// CHECK:         scf.parallel (%[[J:.*]]) =
// CHECK-NEXT:      %[[P2:.*]] = memref.load %arg0[] : memref<i64>
// CHECK:           %[[Q:.*]] = arith.addi %[[P2]],
// CHECK:           memref.store %[[Q]], %arg3[%[[J]]]
func.func @sink_past(%past: memref<i64>, %new: memref<?x4xf32>, %cache: memref<64x4xf32>, %pos: memref<?xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %p = memref.load %past[] : memref<i64>
  %o = arith.index_cast %p : i64 to index
  %n = memref.dim %new, %c0 : memref<?x4xf32>
  %v = memref.subview %cache[%o, 0] [%n, 4] [1, 1] : memref<64x4xf32> to memref<?x4xf32, strided<[4, 1], offset: ?>>
  memref.copy %new, %v : memref<?x4xf32> to memref<?x4xf32, strided<[4, 1], offset: ?>>
  scf.parallel (%j) = (%c0) to (%n) step (%c1) {
    %ji = arith.index_cast %j : index to i64
    %q = arith.addi %p, %ji : i64
    memref.store %q, %pos[%j] : memref<?xi64>
    scf.reduce
  }
  return
}

// -----

// Host code that still needs the value (here an allocation's size) keeps
// its read, and the function is not marked.
// CHECK-LABEL: func.func @host_needs_past
// CHECK-NOT:     tfc.scalars_on_device
// CHECK:         memref.load %arg0[]
func.func @host_needs_past(%past: memref<i64>) -> memref<?xf32> {
  %p = memref.load %past[] : memref<i64>
  %o = arith.index_cast %p : i64 to index
  %a = memref.alloc(%o) : memref<?xf32>
  return %a : memref<?xf32>
}

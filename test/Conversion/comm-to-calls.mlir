// RUN: tfc-opt %s --tfc-to-linalg | FileCheck %s
// RUN: tfc-opt %s --tfc-to-linalg --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize | FileCheck %s --check-prefix=BUF

// The communication ops become calls of libtfcrt's kernels on contiguous
// buffers (include/tfc/Runtime/tfc_kernels.h), declared with the C interface.

// CHECK-DAG: func.func private @tfcrt_all_reduce_f32(memref<*xf32>, memref<*xf32>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @tfcrt_all_gather_f32(memref<*xf32>, memref<*xf32>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @tfcrt_send_f32(memref<*xf32>, i64, i64) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @tfcrt_recv_dims(memref<?xi64>, i64, i64) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @tfcrt_recv_f32(memref<*xf32>, i64, i64) attributes {llvm.emit_c_interface}

// CHECK-LABEL: func.func @all_reduce
// CHECK: %[[COPY:.*]] = linalg.copy ins(%arg0
// CHECK: %[[IN:.*]] = bufferization.to_buffer %[[COPY]] read_only
// CHECK: %[[INU:.*]] = memref.cast %[[IN]] : memref<?x4xf32> to memref<*xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x4xf32>
// CHECK: %[[OUTU:.*]] = memref.cast %[[OUT]] : memref<?x4xf32> to memref<*xf32>
// CHECK: call @tfcrt_all_reduce_f32(%[[INU]], %[[OUTU]])
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[R]]
func.func @all_reduce(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %r = tfc.all_reduce %x {parts = 2 : i64} : tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// Uneven parts (3 + 5 columns): rank 1's block of the flat result starts
// after rank 0's 3 * rows elements and lands at column 3.
// CHECK-LABEL: func.func @all_gather
// CHECK: %[[FLAT:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: call @tfcrt_all_gather_f32
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[FLAT]] restrict writable
// CHECK: tensor.extract_slice %[[T]]
// CHECK: tensor.expand_shape {{.*}} into tensor<?x3xf32>
// CHECK: tensor.insert_slice {{.*}}[0, 0] [%{{.*}}, 3] [1, 1] : tensor<?x3xf32> into tensor<?x8xf32>
// CHECK: tensor.expand_shape {{.*}} into tensor<?x5xf32>
// CHECK: tensor.insert_slice {{.*}}[0, 3] [%{{.*}}, 5] [1, 1] : tensor<?x5xf32> into tensor<?x8xf32>
func.func @all_gather(%x: tensor<?x5xf32>) -> tensor<?x8xf32> {
  %g = tfc.all_gather %x {axis = 1 : i64, sizes = array<i64: 3, 5>, rank = 1 : i64} : tensor<?x5xf32> -> tensor<?x8xf32>
  return %g : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @send_recv
// CHECK: call @tfcrt_send_f32(%{{.*}}, %[[PEER:.*]], %[[TAG0:.*]]) :
// CHECK: %[[DIMS:.*]] = memref.alloca() : memref<3xi64>
// CHECK: call @tfcrt_recv_dims
// CHECK: memref.load %[[DIMS]][%{{.*}}] : memref<3xi64>
// CHECK: memref.load %[[DIMS]][%{{.*}}] : memref<3xi64>
// CHECK: %[[RB:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x8xf32>
// CHECK: call @tfcrt_recv_f32
// BUF-LABEL: func.func @send_recv
// BUF: call @tfcrt_send_f32
// BUF: call @tfcrt_recv_dims
// BUF: %[[B:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x8xf32>
// BUF: call @tfcrt_recv_f32
// BUF: return %[[B]]
func.func @send_recv(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  tfc.send %x {peer = 1 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
  %y = tfc.recv {peer = 1 : i64, tag = 1 : i64} : tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

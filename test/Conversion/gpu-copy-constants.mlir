// RUN: tfc-opt %s --tfc-gpu-copy-constants | FileCheck %s

// A constant left in the object (here i1, which the weights file does not
// hold) is read from a runtime-allocated copy, filled by tfcrt_gpu_upload
// (during a GPU run: a device copy of the constant, uploaded once).
// CHECK:       func.func private @tfcrt_gpu_upload(i64, i64, i64)
// CHECK-LABEL: func.func @mask
// CHECK:         %[[G:.*]] = memref.get_global @mask_const : memref<4xi1>
// CHECK:         %[[BUF:.*]] = memref.alloc() : memref<4xi1>
// CHECK-DAG:     %[[N:.*]] = arith.constant 4 : i64
// CHECK-DAG:     %[[D:.*]] = memref.extract_aligned_pointer_as_index %[[BUF]]
// CHECK-DAG:     %[[DI:.*]] = arith.index_cast %[[D]] : index to i64
// CHECK-DAG:     %[[S:.*]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK-DAG:     %[[SI:.*]] = arith.index_cast %[[S]] : index to i64
// CHECK:         call @tfcrt_gpu_upload(%[[DI]], %[[SI]], %[[N]])
// CHECK:         memref.load %[[BUF]]
memref.global "private" constant @mask_const : memref<4xi1> = dense<[true, false, true, true]>
func.func @mask(%i: index) -> i1 {
  %g = memref.get_global @mask_const : memref<4xi1>
  %v = memref.load %g[%i] : memref<4xi1>
  return %v : i1
}

// Element sizes round up to bytes: 3 x f16 = 6 bytes.
// CHECK-LABEL: func.func @halves
// CHECK:         arith.constant 6 : i64
// CHECK:         call @tfcrt_gpu_upload
memref.global "private" constant @h_const : memref<3xf16> = dense<[1.0, 2.0, 3.0]>
func.func @halves() -> memref<3xf16> {
  %g = memref.get_global @h_const : memref<3xf16>
  return %g : memref<3xf16>
}

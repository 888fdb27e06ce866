// RUN: tfc-opt %s --tfc-gpu-copy-constants | FileCheck %s

// A constant left in the object (here i1, which the weights file does not
// hold) is read from a runtime-allocated copy, which a kernel can access.
// CHECK-LABEL: func.func @mask
// CHECK:         %[[G:.*]] = memref.get_global @mask_const : memref<4xi1>
// CHECK:         %[[BUF:.*]] = memref.alloc() : memref<4xi1>
// CHECK:         memref.copy %[[G]], %[[BUF]]
// CHECK:         memref.load %[[BUF]]
memref.global "private" constant @mask_const : memref<4xi1> = dense<[true, false, true, true]>
func.func @mask(%i: index) -> i1 {
  %g = memref.get_global @mask_const : memref<4xi1>
  %v = memref.load %g[%i] : memref<4xi1>
  return %v : i1
}

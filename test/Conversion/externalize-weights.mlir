// RUN: tfc-opt %s -tfc-externalize-weights="output=%t.tfcw min-bytes=64" | FileCheck %s
// RUN: head -c 8 %t.tfcw | FileCheck %s --check-prefix=MAGIC

// The 128-byte constant moves to the weights file and is read through a
// view of the new leading weights argument; the 8-byte one stays.
// CHECK-NOT: memref.global "private" constant @big
// CHECK: memref.global "private" constant @small
// CHECK: func @f(%[[W:.*]]: memref<?xi8> {tfc.weights}
// CHECK: %[[OFF:.*]] = arith.constant 0 : index
// CHECK: memref.view %[[W]][%[[OFF]]][] : memref<?xi8> to memref<32xf32>
// CHECK: memref.get_global @small
// MAGIC: TFCWGT01
module {
  memref.global "private" constant @big : memref<32xf32> = dense<1.5>
  memref.global "private" constant @small : memref<2xf32> = dense<2.5>
  func.func @f() -> (memref<32xf32>, memref<2xf32>) attributes {tfc.entry} {
    %0 = memref.get_global @big : memref<32xf32>
    %1 = memref.get_global @small : memref<2xf32>
    return %0, %1 : memref<32xf32>, memref<2xf32>
  }
}

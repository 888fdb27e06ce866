// RUN: tfc-opt %s -split-input-file -verify-diagnostics -tfc-externalize-weights="output=%t.tfcw min-bytes=64" | FileCheck %s
// RUN: %tfc_python -c "import struct, sys; d = open(sys.argv[1], 'rb').read(); h, n = struct.unpack('<QQ', d[8:24]); print('data', n, 'splat', d[h + 128:h + 136].hex() if d[h:h + 4].hex() == '00000000' else d[h:h + 8].hex())" %t.tfcw | FileCheck %s --check-prefix=FILE

// Identical constants (@a, @b) share one copy in the data section: both
// views read the same offset. @c (a splat of 2.0, expanded) gets its own
// 128 bytes, 64-aligned: the section is 256 bytes. The section is laid out
// by content (hash order), so which one comes first is not fixed: FILE
// finds the splat's bytes (2.0 = 0x40000000) at whichever offset the table
// of 0..31 (whose first float is 0.0) does not take.
// CHECK: func @f(%[[W:.*]]: memref<?xi8> {tfc.weights}
// CHECK: %[[OA:.*]] = arith.constant [[X:[0-9]+]] : index
// CHECK-NEXT: memref.view %[[W]][%[[OA]]][] : memref<?xi8> to memref<32xf32>
// CHECK: arith.constant [[X]] : index
// CHECK-NEXT: memref.view %[[W]]
// FILE: data 256 splat 0000004000000040
module {
  memref.global "private" constant @a : memref<32xf32> = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0]>
  memref.global "private" constant @b : memref<32xf32> = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0]>
  memref.global "private" constant @c : memref<32xf32> = dense<2.0>
  func.func @f() -> (memref<32xf32>, memref<32xf32>, memref<32xf32>) attributes {tfc.entry} {
    %0 = memref.get_global @a : memref<32xf32>
    %1 = memref.get_global @b : memref<32xf32>
    %2 = memref.get_global @c : memref<32xf32>
    return %0, %1, %2 : memref<32xf32>, memref<32xf32>, memref<32xf32>
  }
}

// -----

// A weight also read outside the entry functions cannot move: an error
// naming it.
module {
  // expected-error @+1 {{weight global is used outside the entry functions}}
  memref.global "private" constant @big : memref<32xf32> = dense<1.5>
  func.func @f() -> memref<32xf32> attributes {tfc.entry} {
    %0 = memref.get_global @big : memref<32xf32>
    return %0 : memref<32xf32>
  }
  func.func @helper() -> memref<32xf32> {
    %0 = memref.get_global @big : memref<32xf32>
    return %0 : memref<32xf32>
  }
}

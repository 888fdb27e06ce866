// tfc-lower-reshape-views rewrites a contiguous memref.expand_shape /
// collapse_shape (identity layout, or a 1-D unit-stride slice) as a
// reinterpret_cast with row-major strides, and leaves any other reshape to
// expand-strided-metadata. Such a reshape once made the pass loop: the
// collapse pattern built its memref.dim ops before finding it could not
// apply, the greedy driver erased them and tried again until it gave up,
// and the pass failed without a message (a [1, ?] slice of a constant
// collapsed to [?]). It must now be left alone, and the pass succeed.
// RUN: tfc-opt %s --tfc-lower-reshape-views | FileCheck %s

// CHECK-LABEL: func.func @contiguous
// CHECK: memref.reinterpret_cast %arg0 to offset: [0], sizes: [%{{.*}}], strides: [1]
// CHECK-NOT: memref.collapse_shape
func.func @contiguous(%m: memref<4x?xf32>) -> memref<?xf32> {
  %c = memref.collapse_shape %m [[0, 1]] : memref<4x?xf32> into memref<?xf32>
  return %c : memref<?xf32>
}

// CHECK-LABEL: func.func @strided_slice_left_alone
// CHECK: %[[S:.*]] = memref.subview
// CHECK: memref.collapse_shape %[[S]] {{\[\[}}0, 1]]
// CHECK-NOT: memref.reinterpret_cast
func.func @strided_slice_left_alone(%m: memref<1x512xi64>, %n: index) -> memref<?xi64, strided<[?]>> {
  %s = memref.subview %m[0, 0] [1, %n] [1, 1] : memref<1x512xi64> to memref<1x?xi64, strided<[512, 1]>>
  %c = memref.collapse_shape %s [[0, 1]] : memref<1x?xi64, strided<[512, 1]>> into memref<?xi64, strided<[?]>>
  return %c : memref<?xi64, strided<[?]>>
}

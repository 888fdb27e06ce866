func.func @f(%a: memref<?x64xf32>, %d0: index, %d1: index) -> memref<?x?x64xf32> {
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [%d0, %d1, 64] : memref<?x64xf32> into memref<?x?x64xf32>
  return %e : memref<?x?x64xf32>
}

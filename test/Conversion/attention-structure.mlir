// RUN: tfc-opt %s -split-input-file -tfc-to-linalg | FileCheck %s --check-prefix=REF
// RUN: tfc-opt %s -split-input-file -tfc-cpu-kernels -cse | FileCheck %s --check-prefix=CPU

// The structure attributes of tfc.attention (tfc-sparsify-attention) in
// both lowerings: the reference masks scores element by element (window
// or sink, same block, layout cell != 0), the kernel call passes them.
// REF-LABEL: func @sink_local
// REF: linalg.generic
// REF: arith.cmpi slt
// REF: arith.cmpi slt
// REF: arith.ori
// REF: arith.andi
// REF: arith.select
// CPU-LABEL: func @sink_local
// CPU-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CPU-DAG: %[[W:.*]] = arith.constant 256 : i64
// CPU-DAG: %[[S:.*]] = arith.constant 4 : i64
// CPU-DAG: %[[Z:.*]] = arith.constant 0 : i64
// CPU: call @tfcrt_attention_f32({{.*}}, %[[C1]], %[[W]], %[[S]], %[[Z]], %{{.*}}, %[[Z]])
func.func @sink_local(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x4x?x64xf32> {
  %0 = tfc.attention %q, %k, %v {scale = 0.125 : f64, causal = true, window = 256, sinks = 4} : tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x?x64xf32>
  return %0 : tensor<1x4x?x64xf32>
}

// -----

// REF-LABEL: func @block_layout
// REF: %[[L:.*]] = arith.constant dense<{{\[}}[1, 0], [1, 1]]> : tensor<2x2xi8>
// REF: linalg.generic
// REF: arith.floordivsi
// REF: arith.floordivsi
// REF: arith.cmpi eq
// REF: tensor.extract %[[L]]
// REF: arith.cmpi ne
// CPU-LABEL: func @block_layout
// CPU: %[[L:.*]] = arith.constant dense<{{\[}}[1, 0], [1, 1]]> : tensor<2x2xi8>
// CPU: %[[LM:.*]] = bufferization.to_buffer %[[L]]
// CPU: %[[LV:.*]] = memref.cast %[[LM]]
// CPU-DAG: %[[B:.*]] = arith.constant 4 : i64
// CPU-DAG: %[[LB:.*]] = arith.constant 8 : i64
// CPU: call @tfcrt_attention_f32({{.*}}, %[[B]], %[[LV]], %[[LB]])
func.func @block_layout(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %0 = tfc.attention %q, %k, %v {scale = 0.25 : f64, causal = false, block = 4, layout = dense<[[1, 0], [1, 1]]> : tensor<2x2xi8>, layout_block = 8} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

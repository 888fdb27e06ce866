// RUN: tfc-opt %s -split-input-file -tfc-sparsify-attention="pattern=sink:4,local:256" -verify-diagnostics | FileCheck %s

// Dynamic length: the fraction at ref-len 2048 (2048 * 2049 / 2 causal
// pairs; sink:4,local:256 keeps 256 * 257 / 2 + 257 + 258 + 259 + 1789 * 260 = 498,810 of
// them). An op with its own window 128 keeps the smaller.
// CHECK-LABEL: func @dynamic
// CHECK: tfc.attention {{.*}}{causal = true, scale = 1.250000e-01 : f64, sinks = 4 : i64, window = 256 : i64}
// CHECK: tfc.attention {{.*}}{causal = true, scale = 1.250000e-01 : f64, sinks = 4 : i64, window = 128 : i64}
func.func @dynamic(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> (tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>) {
  // expected-remark @+1 {{attention pattern 'sink:4,local:256' keeps 23.8% of the causal query-key pairs at length 2048 (498810 of 2098176)}}
  %0 = tfc.attention %q, %k, %v {scale = 0.125 : f64, causal = true} : tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x?x64xf32>
  // expected-remark @+1 {{keeps}}
  %1 = tfc.attention %q, %k, %v {scale = 0.125 : f64, causal = true, window = 128} : tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32> -> tensor<1x4x?x64xf32>
  return %0, %1 : tensor<1x4x?x64xf32>, tensor<1x4x?x64xf32>
}

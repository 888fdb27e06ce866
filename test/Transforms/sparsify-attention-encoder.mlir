// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=sink:4,local:256" 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=block-local:64" 2>&1 | FileCheck %s --check-prefix=ENC

// An encoder (not causal): a one-sided window is refused, block-local
// applies (of the 128 * 128 pairs it keeps 2 * 64 * 64 = 50 %).
// ERR: error: 'tfc.attention' op is not causal: pattern 'sink:4,local:256' needs a causal attention
// ENC: remark: attention pattern 'block-local:64' keeps 50.0% of the query-key pairs at length 128 (8192 of 16384)
// ENC-LABEL: func @encoder
// ENC: tfc.attention {{.*}}{block = 64 : i64, causal = false, scale = 1.250000e-01 : f64}
func.func @encoder(%q: tensor<2x4x128x64xf32>, %k: tensor<2x4x128x64xf32>, %v: tensor<2x4x128x64xf32>) -> tensor<2x4x128x64xf32> {
  %0 = tfc.attention %q, %k, %v {scale = 0.125 : f64, causal = false} : tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32> -> tensor<2x4x128x64xf32>
  return %0 : tensor<2x4x128x64xf32>
}

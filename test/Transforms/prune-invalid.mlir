// RUN: tfc-opt %s -split-input-file -tfc-prune="method=nm:2:4" -verify-diagnostics
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=1.5" 2>&1 | FileCheck %s --check-prefix=SPARSITY
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=nm:4:2" 2>&1 | FileCheck %s --check-prefix=NM
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=magnitude classes=qkv,attn" 2>&1 | FileCheck %s --check-prefix=CLASS
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=lottery" 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=ffn:1.5" 2>&1 | FileCheck %s --check-prefix=FFN
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=heads:1" 2>&1 | FileCheck %s --check-prefix=NOATTN
// SPARSITY: error: tfc-prune: sparsity must be in (0, 1), got 1.5
// NM: error: tfc-prune: method 'nm:4:2': expected nm:N:M with 0 < N < M <= 64
// CLASS: error: tfc-prune: unknown op class 'attn'
// METHOD: error: tfc-prune: unknown method 'lottery'
// FFN: error: tfc-prune: method 'ffn:1.5': expected ffn:F with F in (0, 1)
// NOATTN: error: tfc-prune: heads:K but the model has no tfc.attention

// k = 6 is not a multiple of 4.
func.func @k6(%x: tensor<?x6xf32>) -> tensor<?x2xf32> attributes {tfc.entry} {
  %w = arith.constant dense<1.0> : tensor<6x2xf32>
  // expected-error @+1 {{tfc-prune: nm:2:4: k = 6 of 'tfc.linear' weight is not a multiple of 4}}
  %h = tfc.linear %x, %w : tensor<?x6xf32>, tensor<6x2xf32> -> tensor<?x2xf32>
  %r = tfc.unary relu %h : tensor<?x2xf32> -> tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

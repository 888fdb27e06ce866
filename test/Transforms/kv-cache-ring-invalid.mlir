// RUN: tfc-opt %s -split-input-file -tfc-kv-cache=evict=true -verify-diagnostics
// RUN: not tfc-opt %s -split-input-file -tfc-kv-cache="evict=true max-len=8" 2>&1 | FileCheck %s --check-prefix=MAXLEN
// MAXLEN: error: tfc-kv-cache: evict sizes the cache by the window; it takes no max-len

// Eviction keeps the last R positions: an attention with no window (its
// own, proven, or the option's) needs them all.
func.func @tfc_m_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}) -> (tensor<?x2x?x4xf32> {tfc.name = "out", tfc.dims = ["batch", "2", "seq", "4"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a0 = tfc.attention %q, %q, %q {causal = true, scale = 0.5 : f64, window = 4 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  // expected-error @+1 {{'tfc.attention' op has no sliding window: eviction (a ring of the window's size) needs one on every attention (give --kv-window=W)}}
  %a1 = tfc.attention %a0, %a0, %a0 {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a1 : tensor<?x2x?x4xf32>
}

// -----

// A with-past export reads its past in position order (concat(past, new)
// and its own mask and positions): no ring.
// expected-error @+1 {{tfc-kv-cache: evict is not supported for with-past exports}}
func.func @tfc_w_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "total"]}, %pk: tensor<?x2x?x4xf32> {tfc.name = "past_key_values.0.key"}, %pv: tensor<?x2x?x4xf32> {tfc.name = "past_key_values.0.value"}) -> (tensor<?x2x?x4xf32> {tfc.name = "logits"}, tensor<?x2x?x4xf32> {tfc.name = "present.0.key"}, tensor<?x2x?x4xf32> {tfc.name = "present.0.value"}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %t = tensor.dim %mask, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %k = tensor.concat dim(2) %pk, %q : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %v = tensor.concat dim(2) %pv, %q : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %t] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %k, %v mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a, %k, %v : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}

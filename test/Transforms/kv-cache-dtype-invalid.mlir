// RUN: tfc-opt %s -tfc-kv-cache=kv-dtype=int8 -verify-diagnostics

// A with-past export with a quantized cache: not done yet (its present
// outputs would need the same quantize / dequantize rewrite).
// expected-error @+1 {{tfc-kv-cache: kv-dtype int8 is not supported for with-past exports yet}}
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

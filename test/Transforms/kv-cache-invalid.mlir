// RUN: tfc-opt %s -split-input-file -tfc-kv-cache -verify-diagnostics

// No attention at all: nothing to cache.
// expected-error @+1 {{tfc-kv-cache: no tfc.attention in 'tfc_e_main'}}
func.func @tfc_e_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) -> tensor<?x?x8xf32> attributes {tfc.entry} {
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}

// -----

// An encoder (BERT): the additive padding mask has no position comparison,
// so nothing proves that a query ignores later keys.
func.func @tfc_bert_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask"}) -> tensor<?x2x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %big = arith.constant dense<-10000.0> : tensor<f32>
  %onef = arith.constant dense<1.0> : tensor<f32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %mf = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xf32>
  %m4 = tfc.reshape %mf[%b, %n] : tensor<?x?xf32> -> tensor<?x1x1x?xf32>
  %inv = tfc.binary sub %onef, %m4 : tensor<f32>, tensor<?x1x1x?xf32> -> tensor<?x1x1x?xf32>
  %add = tfc.binary mul %inv, %big : tensor<?x1x1x?xf32>, tensor<f32> -> tensor<?x1x1x?xf32>
  // expected-error @+1 {{'tfc.attention' op is not causal: no key <= query position term is proven}}
  %a = tfc.attention %q, %q, %q mask %add : tensor<?x1x1x?xf32> {causal = false, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// Keys that are not this step's tokens (a fixed memory, cross-attention
// style): the op cannot be split into cached rows.
func.func @tfc_x_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) -> tensor<?x2x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %mem = arith.constant dense<0.25> : tensor<1x2x5x4xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  // expected-error @+1 {{'tfc.attention' op cannot be cached: its query / key / value length is not provably the input sequence length}}
  %a = tfc.attention %q, %mem, %mem {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// A residual mask computed from the hidden states, not from attention_mask.
func.func @tfc_h_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) -> tensor<?x2x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %fzero = arith.constant dense<0.0> : tensor<f32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %red = tfc.reduce sum %q {axes = array<i64: 1, 3>, keepdims = true} : tensor<?x2x?x4xf32> -> tensor<?x1x?x1xf32>
  %pos = tfc.cmp gt %red, %fzero : tensor<?x1x?x1xf32>, tensor<f32> -> tensor<?x1x?x1xi1>
  // expected-error @+1 {{'tfc.attention' op cannot be cached: its mask is not computed from attention_mask and the sequence length alone}}
  %a = tfc.attention %q, %q, %q mask %pos : tensor<?x1x?x1xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// A static sequence length cannot grow token by token.
// expected-error @+1 {{tfc-kv-cache: the sequence length of input_ids is static}}
func.func @tfc_s_main(%ids: tensor<1x8xi64> {tfc.name = "input_ids"}) -> tensor<1x2x8x4xf32> attributes {tfc.entry} {
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<1x8xi64> -> tensor<1x8x8xf32>
  %x4 = tfc.reshape %x : tensor<1x8x8xf32> -> tensor<1x8x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x8x2x4xf32> -> tensor<1x2x8x4xf32>
  %a = tfc.attention %q, %q, %q {causal = true, scale = 0.5 : f64} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %a : tensor<1x2x8x4xf32>
}

// -----

// An input the step could not feed (BERT's token_type_ids).
// expected-error @+1 {{tfc-kv-cache: input 'token_type_ids' is not input_ids or attention_mask}}
func.func @tfc_t_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask"}, %tt: tensor<?x?xi64> {tfc.name = "token_type_ids"}) -> tensor<?x2x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %q, %q, %q {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// A with-past export whose present is not concat(past, new rows): the cache
// could not be updated by appending rows.
// expected-error @+1 {{tfc-kv-cache: output 'present.0.key' is not concat(its past input, new rows) along the sequence}}
func.func @tfc_wb_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask"}, %pk: tensor<?x2x?x4xf32> {tfc.name = "past_key_values.0.key"}, %pv: tensor<?x2x?x4xf32> {tfc.name = "past_key_values.0.value"}) -> (tensor<?x2x?x4xf32> {tfc.name = "logits"}, tensor<?x2x?x4xf32> {tfc.name = "present.0.key"}, tensor<?x2x?x4xf32> {tfc.name = "present.0.value"}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %k = tensor.concat dim(2) %q, %pk : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %v = tensor.concat dim(2) %pv, %q : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %a = tfc.attention %q, %k, %v {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a, %k, %v : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}

// -----

// Several entries (tfc-partition's parts) must all say which part they are.
func.func @tfc_q_p0_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) attributes {tfc.entry, tfc.part = 0 : i64} {
  return
}
// expected-error @+1 {{tfc-kv-cache: several functions are marked tfc.entry but 'tfc_q_p1_main' has no tfc.part}}
func.func @tfc_q_p1_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) attributes {tfc.entry} {
  return
}

// -----

// A pipeline stage without attention layers (say, only the LM head) would
// have no cache: refused, naming the part.
// expected-error @+1 {{tfc-kv-cache: no tfc.attention in 'tfc_s_p1_main' (a part without attention layers has no cache; partition so that every part holds some)}}
func.func @tfc_s_p1_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) -> tensor<?x?x16xf32> attributes {tfc.entry, tfc.part = 1 : i64} {
  %x = tfc.recv {peer = 0 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
  %head = arith.constant dense<0.25> : tensor<8x16xf32>
  %l = tfc.linear %x, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=local:4 ref-len=16" 2>&1 | FileCheck %s --check-prefix=LOCAL
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=sink:2,local:4 ref-len=16" 2>&1 | FileCheck %s --check-prefix=SINK
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=block-local:4 ref-len=16" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=local:4,block-local:8 ref-len=16" 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=bigbird:block=2,window=1,global=1,random=1,seed=7" 2>&1 | FileCheck %s --check-prefix=BB
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=dense" 2>&1 | FileCheck %s --check-prefix=DENSE

// A causal decoder layer, static length 16, so the kept fractions are exact
// and counted here by hand (136 causal query-key pairs).
// local:4: query p keeps min(p + 1, 4) keys: 1+2+3+4*13 = 58.
// LOCAL: remark: attention pattern 'local:4' keeps 42.6% of the causal query-key pairs at length 16 (58 of 136)
// LOCAL-LABEL: func @decoder
// LOCAL: tfc.attention {{.*}}{causal = true, scale = 2.500000e-01 : f64, window = 4 : i64}
// sink:2,local:4: rows 0..3 as local (10); row 4 keys 1..4 + 0 (5), row 5
// keys 2..5 + 0, 1 (6); rows 6..15 4 + 2 (60): 81.
// SINK: remark: attention pattern 'sink:2,local:4' keeps 59.6% of the causal query-key pairs at length 16 (81 of 136)
// SINK-LABEL: func @decoder
// SINK: tfc.attention {{.*}}{causal = true, scale = 2.500000e-01 : f64, sinks = 2 : i64, window = 4 : i64}
// block-local:4, causal inside each block of 4: 4 * (1+2+3+4) = 40.
// BLOCK: remark: attention pattern 'block-local:4' keeps 29.4% of the causal query-key pairs at length 16 (40 of 136)
// BLOCK-LABEL: func @decoder
// BLOCK: tfc.attention {{.*}}{block = 4 : i64, causal = true, scale = 2.500000e-01 : f64}
// local:4 inside blocks of 8: per block 1+2+3+4*5 = 26, twice: 52.
// BOTH: remark: attention pattern 'local:4,block-local:8' keeps 38.2% of the causal query-key pairs at length 16 (52 of 136)
// BOTH: tfc.attention {{.*}}{block = 8 : i64, causal = true, scale = 2.500000e-01 : f64, window = 4 : i64}
// bigbird, 8 blocks of 2: the diagonal (window=1), block row / column 0
// global, and one random causal column per row that it does not see yet
// (none left for row 1). Pairs: 8 diagonal blocks of 3 causal pairs + 13
// off-diagonal blocks of 4 = 76.
// BB: remark: attention pattern 'bigbird:block=2,window=1,global=1,random=1,seed=7' keeps 55.9% of the causal query-key pairs at length 16 (76 of 136)
// BB-LABEL: func @decoder
// BB: tfc.attention {{.*}}{causal = true, layout = dense<{{\[}}[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0, 0], [1, 1, 0, 0, 1, 0, 0, 0], [1, 0, 0, 1, 0, 1, 0, 0], [1, 0, 1, 0, 0, 0, 1, 0], [1, 1, 0, 0, 0, 0, 0, 1]]> : tensor<8x8xi8>, layout_block = 2 : i64, scale = 2.500000e-01 : f64}
// DENSE-NOT: remark
// DENSE: tfc.attention {{.*}}{causal = true, scale = 2.500000e-01 : f64}
func.func @decoder(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %0 = tfc.attention %q, %k, %v {scale = 0.25 : f64, causal = true} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

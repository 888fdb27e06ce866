// Bad patterns: an error naming the bad key, non-zero exit.
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=locl:4" 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=local:0" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=local:x" 2>&1 | FileCheck %s --check-prefix=NUM
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=sink:4" 2>&1 | FileCheck %s --check-prefix=SINK
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=local:4,local:8" 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=local" 2>&1 | FileCheck %s --check-prefix=NOVAL
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=bigbird:block=64,windw=3" 2>&1 | FileCheck %s --check-prefix=BBKEY
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=bigbird:window=3" 2>&1 | FileCheck %s --check-prefix=BBBLOCK
// RUN: not tfc-opt %s -tfc-sparsify-attention="pattern=bigbird:block=-2" 2>&1 | FileCheck %s --check-prefix=BBNEG
// RUN: not tfc-opt %s -tfc-sparsify-attention 2>&1 | FileCheck %s --check-prefix=EMPTY
// KEY: error: tfc-sparsify-attention: pattern 'locl:4': unknown pattern key 'locl' (expected local, sink, block-local, bigbird, causal or dense)
// ZERO: error: tfc-sparsify-attention: pattern 'local:0': 'local' needs a positive integer, got '0'
// NUM: error: tfc-sparsify-attention: pattern 'local:x': 'local' needs a positive integer, got 'x'
// SINK: error: tfc-sparsify-attention: pattern 'sink:4': 'sink' needs 'local'
// TWICE: error: tfc-sparsify-attention: pattern 'local:4,local:8': key 'local' given twice
// NOVAL: error: tfc-sparsify-attention: pattern 'local': item 'local' is not KIND:VALUE
// BBKEY: error: tfc-sparsify-attention: pattern 'bigbird:block=64,windw=3': unknown bigbird key 'windw' (expected block, window, global, random, seed)
// BBBLOCK: error: tfc-sparsify-attention: pattern 'bigbird:window=3': bigbird needs 'block'
// BBNEG: error: tfc-sparsify-attention: pattern 'bigbird:block=-2': bigbird 'block' needs a positive integer, got '-2'
// EMPTY: error: tfc-sparsify-attention: pattern '': no pattern given
func.func @decoder(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %0 = tfc.attention %q, %k, %v {scale = 0.25 : f64, causal = true} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

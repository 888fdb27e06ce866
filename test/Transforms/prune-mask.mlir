// Masks keyed by ONNX initializer name (tfc.onnx_name, set by the importer).
// RUN: %tfc_python -c "import numpy as np; np.savez('%t.npz', W1=np.array([[1,0],[0,1],[1,1],[0,0]], np.uint8), W2=np.array([[1,1],[0,0],[1,0],[0,1]], np.float32))"
// RUN: tfc-opt %s -tfc-prune="method=mask=%t.npz export=%t.exp" -verify-each | FileCheck %s
// RUN: %tfc_python -c "import json,sys; d=json.load(open('%t.exp.prune.json')); print(sorted((w['onnx_name'], w['kept'], w['elements']) for w in d['weights']))" | FileCheck %s --check-prefix=JSON
// RUN: %tfc_python -c "import numpy as np; from safetensors.numpy import save_file; save_file({'W1': np.array([[1,0],[0,1],[1,1],[0,0]], np.uint8), 'W2': np.array([[1,1],[0,0],[1,0],[0,1]], np.bool_)}, '%t.safetensors')"
// RUN: tfc-opt %s -tfc-prune="method=mask=%t.safetensors" -verify-each | FileCheck %s
// Errors: a missing key, a wrong shape, a key naming nothing, no such file.
// RUN: %tfc_python -c "import numpy as np; np.savez('%t.miss.npz', W1=np.ones((4,2)))"
// RUN: not tfc-opt %s -tfc-prune="method=mask=%t.miss.npz" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %tfc_python -c "import numpy as np; np.savez('%t.shape.npz', W1=np.ones((2,4)), W2=np.ones((4,2)))"
// RUN: not tfc-opt %s -tfc-prune="method=mask=%t.shape.npz" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: %tfc_python -c "import numpy as np; np.savez('%t.extra.npz', W1=np.ones((4,2)), W2=np.ones((4,2)), W9=np.ones(3))"
// RUN: not tfc-opt %s -tfc-prune="method=mask=%t.extra.npz" 2>&1 | FileCheck %s --check-prefix=EXTRA
// RUN: not tfc-opt %s -tfc-prune="method=mask=%t.none.npz" 2>&1 | FileCheck %s --check-prefix=NOFILE

// CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 7.000000e+00], [-3.000000e+00, 4.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+01, 2.000000e+01], [0.000000e+00, 0.000000e+00], [3.000000e+01, 0.000000e+00], [0.000000e+00, 6.000000e+01]]> : tensor<4x2xf32>
// W1's mask happens to be 2:4 along k: the attribute says so.
// CHECK: tfc.linear {{.*}}tfc.sparsity = {m = 4 : i64, method = "mask", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
// CHECK: tfc.linear {{.*}}tfc.sparsity = {method = "mask", pattern = "unstructured", ratio = 5.000000e-01 : f64}
// JSON: [('W1', 4, 8), ('W2', 4, 8)]
// MISSING: error: {{.*}}tfc-prune: mask file '{{.*}}miss.npz' has no entry for initializer 'W2' (the '/fc2/MatMul' weight)
// SHAPE: error: {{.*}}tfc-prune: mask 'W1' in '{{.*}}shape.npz' has shape [2x4], the initializer has [4x2]
// EXTRA: error: tfc-prune: mask 'W9' in '{{.*}}extra.npz' names no weight in the pruning scope
// NOFILE: error: tfc-prune: {{.*}}none.npz
func.func @mlp(%x: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {tfc.entry} {
  %w1 = arith.constant {tfc.onnx_name = "W1"} dense<[[1.0, -5.0], [2.0, 7.0], [-3.0, 4.0], [8.0, -6.0]]> : tensor<4x2xf32>
  %w2 = arith.constant {tfc.onnx_name = "W2"} dense<[[10.0, 20.0], [-15.0, 25.0], [30.0, -40.0], [50.0, 60.0]]> : tensor<4x2xf32>
  %h = tfc.linear %x, %w1 : tensor<?x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32> loc("/fc1/MatMul")
  %g = tfc.unary gelu %h : tensor<?x2xf32> -> tensor<?x2xf32>
  %y = tfc.linear %g, %w2 {transpose_weight = true} : tensor<?x2xf32>, tensor<4x2xf32> -> tensor<?x4xf32> loc("/fc2/MatMul")
  %r = tfc.unary relu %y : tensor<?x4xf32> -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

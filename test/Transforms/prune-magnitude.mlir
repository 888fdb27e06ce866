// RUN: tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=0.5" -verify-each | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=0.5 steps=3" -verify-each | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=0.25 scope=global" -verify-each | FileCheck %s --check-prefix=GLOBAL
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=0.25 classes=qkv,out_proj" -verify-each | FileCheck %s --check-prefix=CLASS
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=0.5 layers=*fc2*" -verify-each | FileCheck %s --check-prefix=GLOB
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=magnitude sparsity=0.5 classes=lm_head" -verify-each | FileCheck %s --check-prefix=HEAD
// HEAD-LABEL: func.func @head
// HEAD: tfc.linear {{.*}}tfc.sparsity = {method = "magnitude", pattern = "unstructured", ratio = 5.000000e-01 : f64}

// Two MLP linears. Per layer, 50 %: the 4 smallest |w| of each 4x2 weight
// become 0 (ties: lower index); 3 steps of 1/6, 2/6, 3/6 give the same.
// Global, 25 % of all 16: one threshold, so fc2's larger weights all survive
// while fc1 loses 4 of 8. classes=qkv,out_proj selects neither.
// CHECK-LABEL: func.func @mlp
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, -5.000000e+00], [0.000000e+00, 7.000000e+00], [0.000000e+00, 0.000000e+00], [8.000000e+00, -6.000000e+00]]> : tensor<4x2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [3.000000e+01, -4.000000e+01], [5.000000e+01, 6.000000e+01]]> : tensor<4x2xf32>
// CHECK: tfc.linear {{.*}} {tfc.sparsity = {method = "magnitude", pattern = "unstructured", ratio = 5.000000e-01 : f64}}
// CHECK: tfc.unary gelu
// CHECK: tfc.linear {{.*}} {tfc.sparsity = {method = "magnitude", pattern = "unstructured", ratio = 5.000000e-01 : f64}, transpose_weight = true}

// GLOBAL-LABEL: func.func @mlp
// GLOBAL-DAG: arith.constant dense<{{\[}}[0.000000e+00, -5.000000e+00], [0.000000e+00, 7.000000e+00], [0.000000e+00, 0.000000e+00], [8.000000e+00, -6.000000e+00]]> : tensor<4x2xf32>
// GLOBAL-DAG: arith.constant dense<{{\[}}[1.000000e+01, 2.000000e+01], [-1.500000e+01, 2.500000e+01], [3.000000e+01, -4.000000e+01], [5.000000e+01, 6.000000e+01]]> : tensor<4x2xf32>
// GLOBAL: tfc.linear {{.*}} ratio = 5.000000e-01
// GLOBAL: tfc.linear {{.*}} ratio = 0.000000e+00

// CLASS-LABEL: func.func @mlp
// CLASS-NOT: tfc.sparsity
// CLASS: return

// GLOB-LABEL: func.func @mlp
// GLOB: tfc.linear
// GLOB-NOT: tfc.sparsity
// GLOB: tfc.unary
// GLOB: tfc.linear {{.*}}tfc.sparsity
func.func @mlp(%x: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {tfc.entry} {
  %w1 = arith.constant dense<[[1.0, -5.0], [2.0, 7.0], [-3.0, 4.0], [8.0, -6.0]]> : tensor<4x2xf32>
  %w2 = arith.constant dense<[[10.0, 20.0], [-15.0, 25.0], [30.0, -40.0], [50.0, 60.0]]> : tensor<4x2xf32>
  %h = tfc.linear %x, %w1 : tensor<?x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32> loc("/fc1/MatMul")
  %g = tfc.unary gelu %h : tensor<?x2xf32> -> tensor<?x2xf32>
  %y = tfc.linear %g, %w2 {transpose_weight = true} : tensor<?x2xf32>, tensor<4x2xf32> -> tensor<?x4xf32> loc("/fc2/MatMul")
  %r = tfc.unary relu %y : tensor<?x4xf32> -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

// A shared constant is replaced per op, never edited in place: the
// embedding (not pruned) keeps the original table.
// CHECK-LABEL: func.func @shared
// CHECK-DAG: %[[T:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK-DAG: %[[P:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK: tfc.embedding %[[T]]
// CHECK: tfc.linear {{.*}}, %[[P]]
func.func @shared(%ids: tensor<?xi64>) -> tensor<?x2xf32> attributes {tfc.entry} {
  %t = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = tfc.embedding %t[%ids] : tensor<2x2xf32>, tensor<?xi64> -> tensor<?x2xf32>
  %h = tfc.linear %e, %t : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  %r = tfc.unary relu %h : tensor<?x2xf32> -> tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

// -----

// A linear the entry returns is the LM head: pruned only when asked.
// CHECK-LABEL: func.func @head
// CHECK-NOT: tfc.sparsity
// CHECK: return
// CLASS-LABEL: func.func @head
// CLASS-NOT: tfc.sparsity
func.func @head(%x: tensor<?x2xf32>) -> tensor<?x2xf32> attributes {tfc.entry} {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = tfc.linear %x, %w : tensor<?x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

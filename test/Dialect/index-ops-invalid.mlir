// RUN: tfc-opt %s -split-input-file -verify-diagnostics

func.func @cumsum_axis(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{axis 1 out of range}}
  %0 = tfc.cumsum %a {axis = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @cumsum_type(%a: tensor<4xf32>) -> tensor<4xf64> {
  // expected-error @+1 {{result must have the input's type}}
  %0 = tfc.cumsum %a {axis = 0 : i64} : tensor<4xf32> -> tensor<4xf64>
  return %0 : tensor<4xf64>
}

// -----

func.func @cumsum_i1(%a: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{needs float or integer (not i1) elements}}
  %0 = tfc.cumsum %a {axis = 0 : i64} : tensor<4xi1> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @gather_elements_rank(%a: tensor<4x3xf32>, %i: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{indices must have the input's rank 2}}
  %0 = tfc.gather_elements %a[%i] {axis = 0 : i64} : tensor<4x3xf32>, tensor<4xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @gather_elements_shape(%a: tensor<4x3xf32>, %i: tensor<4x2xi64>) -> tensor<4x3xf32> {
  // expected-error @+1 {{result must have the indices' shape}}
  %0 = tfc.gather_elements %a[%i] {axis = 1 : i64} : tensor<4x3xf32>, tensor<4x2xi64> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @gather_elements_float_indices(%a: tensor<4x3xf32>, %i: tensor<4x2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{indices must be integers}}
  %0 = tfc.gather_elements %a[%i] {axis = 1 : i64} : tensor<4x3xf32>, tensor<4x2xf32> -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

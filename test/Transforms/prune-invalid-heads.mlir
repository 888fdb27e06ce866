// RUN: not tfc-opt %S/prune-structured-gqa.mlir -tfc-prune="method=heads:1" 2>&1 | FileCheck %s --check-prefix=GROUP
// RUN: not tfc-opt %S/prune-structured-gqa.mlir -tfc-prune="method=heads:1 gqa=within" 2>&1 | FileCheck %s --check-prefix=WITHIN
// RUN: not tfc-opt %S/prune-structured-gqa.mlir -tfc-prune="method=heads:4" 2>&1 | FileCheck %s --check-prefix=ALL
// RUN: not tfc-opt %S/prune-structured.mlir -tfc-prune="method=heads:1 gqa=sideways" 2>&1 | FileCheck %s --check-prefix=GQA
// GROUP: error: 'tfc.attention' op tfc-prune: heads:1 does not divide into whole kv groups of 2 query heads (4 q / 2 kv heads; o_proj 'tfc.linear'): remove a multiple of 2 or use --prune-gqa=within
// WITHIN: error: 'tfc.attention' op tfc-prune: heads:1 cannot be removed evenly within 2 kv groups of 2 query heads
// ALL: error: 'tfc.attention' op tfc-prune: heads:4 removes all 4 query heads
// GQA: error: tfc-prune: gqa must be groups or within, got 'sideways'

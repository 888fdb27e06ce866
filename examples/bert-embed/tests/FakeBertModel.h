//===- FakeBertModel.h - a stand-in for a compiled encoder ------*- C++ -*-===//
//
// What `tfc --emit=obj` writes beside the object for a model named
// "fakebert": the descriptor declaration. Used to build and test the
// linked-model bert-embed before the compiler emits real objects.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_BERTEMBED_FAKEBERTMODEL_H
#define TFC_EXAMPLES_BERTEMBED_FAKEBERTMODEL_H

#include "tfc/Runtime/tfc_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif
extern const tfc_model_desc tfc_fakebert_desc;
#ifdef __cplusplus
}
#endif

/// Hidden size of the fake model and its weights: kFakeBertScale[h] =
/// 1 + h / 2, stored as the "scale" f32 [8] entry of fakebert.tfcw.
#define FAKEBERT_HIDDEN 8

#endif // TFC_EXAMPLES_BERTEMBED_FAKEBERTMODEL_H

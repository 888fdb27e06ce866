// TEMPORARY: empty raising passes so the pipeline links; replaced by the
// real implementations (lib/Transforms/Raise*.cpp).
#include "tfc/Transforms/Passes.h"
using namespace mlir;
namespace mlir::tfc {
#define GEN_PASS_DEF_TFCRAISELINEAR
#define GEN_PASS_DEF_TFCRAISENORMS
#define GEN_PASS_DEF_TFCRAISEACTIVATIONS
#define GEN_PASS_DEF_TFCRAISEROTARY
#define GEN_PASS_DEF_TFCRAISEATTENTION
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc
namespace {
struct A : tfc::impl::TfcRaiseLinearBase<A> { void runOnOperation() override {} };
struct B : tfc::impl::TfcRaiseNormsBase<B> { void runOnOperation() override {} };
struct C : tfc::impl::TfcRaiseActivationsBase<C> { void runOnOperation() override {} };
struct D : tfc::impl::TfcRaiseRotaryBase<D> { void runOnOperation() override {} };
struct E : tfc::impl::TfcRaiseAttentionBase<E> { void runOnOperation() override {} };
}

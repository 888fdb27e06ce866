//===- TfcCalibOps.td - calibration observation points -----*- tablegen -*-===//
//
// The observation points --tfc-insert-observers puts before the inputs of
// the layers that calibration measures (docs/DESIGN.md "Quantization",
// "Calibration"). Included by TfcOps.td. Only a model compiled with
// `tfc --observe` has them; the normal compile path never does.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_CALIB_OPS_TD
#define TFC_CALIB_OPS_TD

def Tfc_ObserveOp : Op<Tfc_Dialect, "observe",
                       [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "hand a tensor to the runtime's calibration observer";
  let description = [{
    At run time the f32 `input` (any shape; its last dim is the feature
    dim k of the linear it feeds) is passed to `tfcrt_observe(id, buffer)`,
    which calls the observer the application registered with
    `tfc_observer_set` (a no-op when none is registered). `id` indexes the
    side table `tfc --observe` writes (`<stem>.observers.json`: id, `name`
    and the names of the ops that consume the tensor); `name` repeats the
    table's name for readers of the IR. Has effects (it must run, once per
    execution, in program order), so it is neither folded nor removed.
  }];
  let arguments = (ins TensorOf<[F32]>:$input,
                   ConfinedAttr<I64Attr, [IntNonNegative]>:$id,
                   StrAttr:$name);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // TFC_CALIB_OPS_TD

"""Writes malformed inputs for the error tests into a folder:
  rank.npz   input_ids with rank 3
  dtype.npz  input_ids as float32
  missing.npz  no attention_mask
  unsupported.onnx  a valid model with an op tfc does not import (TopK)
  external/model.onnx  stories260K with its weights as external data, and the
                       data file removed
  corrupt.tfcw / truncated.tfcw  from a given weights file"""
import os, sys, shutil
import numpy as np
import onnx
from onnx import helper, TensorProto

out, ref, model, weights = sys.argv[1:5]
os.makedirs(out, exist_ok=True)
r = np.load(ref)
ids, mask = r["case0_input_ids"], r["case0_attention_mask"]
np.savez(f"{out}/rank.npz", input_ids=ids[None], attention_mask=mask)
np.savez(f"{out}/dtype.npz", input_ids=ids.astype(np.float32), attention_mask=mask)
np.savez(f"{out}/missing.npz", input_ids=ids)

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
k = helper.make_tensor("k", TensorProto.INT64, [1], [2])
v = helper.make_tensor_value_info("v", TensorProto.FLOAT, [2])
i = helper.make_tensor_value_info("i", TensorProto.INT64, [2])
g = helper.make_graph([helper.make_node("TopK", ["x", "k"], ["v", "i"], name="topk0")],
                      "g", [x], [v, i], [k])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), f"{out}/unsupported.onnx")

m = onnx.load(model)
os.makedirs(f"{out}/external", exist_ok=True)
onnx.save(m, f"{out}/external/model.onnx", save_as_external_data=True,
          location="model.onnx.data", size_threshold=1024)
os.remove(f"{out}/external/model.onnx.data")

data = bytearray(open(weights, "rb").read())
open(f"{out}/truncated.tfcw", "wb").write(data[: len(data) // 2])
data[-100] ^= 0xFF
open(f"{out}/corrupt.tfcw", "wb").write(data)

"""A PyTorch quantization-aware-training export (fake-quant -> QDQ) for
test/Importer/quant-import-qat.test: a two-layer MLP prepared with
torch.ao.quantization's QAT flow (uint8 activations with a zero point,
int8 weights symmetric per output channel, as fbgemm's qconfig), a few training steps so the
observers and fake-quant ranges settle, then exported with the TorchScript
exporter (opset 17), which writes every FakeQuantize as a QuantizeLinear /
DequantizeLinear pair -- on the weights too, whose QuantizeLinear reads the
f32 initializer. Also writes qat.ref.npz / qat.ref-plain.npz from ONNX
Runtime (default session / ORT_DISABLE_ALL)."""
import os
import sys
import warnings

import numpy as np
import torch
import torch.ao.quantization as tq

warnings.filterwarnings("ignore")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = tq.QuantStub()
        self.fc1 = torch.nn.Linear(16, 32)
        self.relu = torch.nn.ReLU()
        self.fc2 = torch.nn.Linear(32, 8)
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.fc2(self.relu(self.fc1(self.quant(x)))))


m = Mlp().train()
# fbgemm's scheme with plain FakeQuantize modules (the default fused
# observer+fake-quant op has no ONNX export).
m.qconfig = tq.QConfig(
    activation=tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0,
                                         quant_max=255, dtype=torch.quint8),
    weight=tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver,
                                     quant_min=-128, quant_max=127, dtype=torch.qint8,
                                     qscheme=torch.per_channel_symmetric, ch_axis=0))
tq.prepare_qat(m, inplace=True)
opt = torch.optim.SGD(m.parameters(), lr=0.01)
for _ in range(20):
    x = torch.randn(32, 16)
    loss = (m(x) - x[:, :8]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
m.eval()
m.apply(tq.disable_observer)
path = os.path.join(out, "qat.onnx")
torch.onnx.export(m, (torch.randn(2, 16),), path, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17,
                  dynamo=False)

import onnxruntime as ort
rng = np.random.default_rng(1)
cases = [rng.standard_normal((1, 16)).astype(np.float32),
         rng.standard_normal((5, 16)).astype(np.float32)]
for suffix, level in ((".ref.npz", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
                      (".ref-plain.npz", ort.GraphOptimizationLevel.ORT_DISABLE_ALL)):
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    ref = {}
    for k, x in enumerate(cases):
        ref[f"case{k}_x"] = x
        ref[f"case{k}_y"] = s.run(None, {"x": x})[0]
    np.savez(os.path.join(out, "qat" + suffix), **ref)

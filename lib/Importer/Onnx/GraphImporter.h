//===- GraphImporter.h - state shared by the ONNX op importers --*- C++ -*-===//
//
// Values of the ONNX graph are tracked as `Tv`: an MLIR tensor, and for
// small integer tensors that describe shapes (rank <= 1, few elements), also
// their elements as `index` SSA values. Shape sub-graphs (Shape, Gather,
// Concat, Unsqueeze, arithmetic, ...) compute on those scalars, so they fold
// to constants or to `tensor.dim` of graph inputs, and the tensor form is
// only materialized when a data op needs it.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_IMPORTER_ONNX_GRAPHIMPORTER_H
#define TFC_LIB_IMPORTER_ONNX_GRAPHIMPORTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"
#include "tfc/Importer/OnnxImporter.h"

#include "onnx/onnx_pb.h"

#include <map>
#include <optional>
#include <string>

namespace mlir::tfc::onnx_import {

/// A graph value: a tensor, and for shape-like integer tensors also their
/// elements as index values (`elems`, in row-major order).
struct Tv {
  Value tensor;                                 // may be null if elems set
  std::optional<SmallVector<Value>> elems;      // index values
  SmallVector<int64_t> elemShape;               // shape of elems (rank<=1)
  Type elemType;                                // element type of the value
};

class GraphImporter;
using NodeHandler = LogicalResult (*)(GraphImporter &, const onnx::NodeProto &);
using HandlerMap = std::map<std::string, NodeHandler>;

void registerElementwiseOps(HandlerMap &map);
void registerShapeOps(HandlerMap &map);
void registerMathOps(HandlerMap &map);
void registerIndexOps(HandlerMap &map);
void registerQuantOps(HandlerMap &map); // QuantOps.cpp, QuantContribOps.cpp

/// How the bits of an integer tensor read when the IR type (signless iN)
/// does not say: uint8 / int4 / uint4 tensors are stored one code per i8.
/// TensorProto.DataType values newer than the vendored onnx.proto (IR 10).
constexpr int32_t kOnnxUint4 = 21, kOnnxInt4 = 22;

struct QCodeType {
  int64_t bits = 8;
  bool isUnsigned = false;
};

class GraphImporter {
public:
  GraphImporter(MLIRContext *ctx, ModuleOp module, std::string modelDir,
                const OnnxImportOptions &options);

  LogicalResult importGraph(const onnx::GraphProto &graph, int64_t opset);
  std::string takeError() { return error; }

  // ---- used by op handlers ----
  OpBuilder b;
  Location loc;
  int64_t opset = 17;

  /// Reports an error about `node` and returns failure.
  LogicalResult fail(const onnx::NodeProto &node, const Twine &msg);
  LogicalResult fail(const Twine &msg);

  bool hasInput(const onnx::NodeProto &node, int i) const {
    return i < node.input_size() && !node.input(i).empty();
  }
  FailureOr<Tv *> input(const onnx::NodeProto &node, int i);
  /// The tensor form of input i (materialized from elems if needed).
  FailureOr<Value> tensorInput(const onnx::NodeProto &node, int i);
  /// Elements of input i as index values (constant, tracked, or extracted
  /// from a small static 1-D/0-d integer tensor).
  FailureOr<SmallVector<Value>> elemsInput(const onnx::NodeProto &node, int i);
  /// Constant integer elements of input i.
  FailureOr<SmallVector<int64_t>> constIntsInput(const onnx::NodeProto &node,
                                                 int i);
  /// Constant float/int value of a scalar-like input, if it is a constant.
  std::optional<double> constScalar(const onnx::NodeProto &node, int i);

  void setOutput(const onnx::NodeProto &node, int i, Value tensor);
  void setOutputElems(const onnx::NodeProto &node, int i,
                      SmallVector<Value> elems, ArrayRef<int64_t> elemShape,
                      Type elemType);

  /// Dims of a tensor as index values (reusing the values it was built from).
  SmallVector<Value> dims(Value tensor);
  Value dim(Value tensor, int64_t i) { return dims(tensor)[i]; }
  void recordDims(Value tensor, ArrayRef<Value> dims);
  /// A ranked tensor type with static dims where `dims` are constants.
  RankedTensorType typeFromDims(ArrayRef<Value> dims, Type elemType);
  /// The dynamic entries of `dims` (the operands of tfc.reshape/expand).
  SmallVector<Value> dynamicDims(ArrayRef<Value> dims);

  Value cIndex(int64_t v);
  std::optional<int64_t> constIndex(Value v);
  /// Broadcast the dims of several tensors (ONNX rules).
  FailureOr<SmallVector<Value>> broadcastDims(ArrayRef<Value> tensors);
  /// Tensor materialization of index elements as a tensor of `elemType`.
  Value materialize(Tv &tv);
  /// A splat / dense constant tensor.
  Value constantTensor(Attribute elementsAttr);
  Value scalarConstant(Type elemType, double value);
  /// tfc.binary `kind` of l and r with ONNX broadcasting, of l's element
  /// type, its dims recorded; the operands must broadcast (check with
  /// broadcastDims first where they may not).
  Value binary(BinaryKind kind, Value l, Value r);

  /// Reads attributes.
  static const onnx::AttributeProto *attr(const onnx::NodeProto &node,
                                          StringRef name);
  static int64_t attrInt(const onnx::NodeProto &node, StringRef name,
                         int64_t dflt);
  static float attrFloat(const onnx::NodeProto &node, StringRef name,
                         float dflt);
  static std::optional<SmallVector<int64_t>> attrInts(const onnx::NodeProto &,
                                                     StringRef name);

  /// Converts an ONNX TensorProto (inline or external data).
  FailureOr<Tv> importTensor(const onnx::TensorProto &t, StringRef what);
  FailureOr<Type> convertElemType(int32_t onnxType, StringRef what);

  /// A constant of `type` from raw row-major bytes (a resource blob above
  /// the importer's size threshold, like initializers).
  Value constantFromBytes(RankedTensorType type, ArrayRef<char> raw);
  Attribute bytesAttr(RankedTensorType type, ArrayRef<char> raw);
  /// Codes whose signedness / width the IR type does not carry (set for
  /// uint8 / int4 / uint4 initializers and quantize results).
  DenseMap<Value, QCodeType> codeTypes;

  /// Common op builders.
  Value reshape(Value input, ArrayRef<Value> newDims);
  Value transpose(Value input, ArrayRef<int64_t> perm);

private:
  MLIRContext *ctx;
  ModuleOp module;
  std::string modelDir;
  OnnxImportOptions options;
  std::string error;
  std::map<std::string, Tv> values;
  DenseMap<Value, SmallVector<Value>> knownDims;
  HandlerMap handlers;
  int64_t resourceCounter = 0;

  LogicalResult importNode(const onnx::NodeProto &node);
  FailureOr<std::string> readExternal(const onnx::TensorProto &t,
                                      StringRef what);
};

/// After the whole graph is imported: raises the quantized patterns
/// (DynamicQuantizeLinear + MatMulInteger, weight DequantizeLinear + MatMul)
/// to tfc.qlinear and remarks on every Q/DQ left as is (QuantRaise.cpp).
void raiseQuantPatterns(GraphImporter &g, func::FuncOp func);

/// Normalizes a possibly negative axis; fails if out of range.
inline FailureOr<int64_t> normAxis(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return failure();
  return axis;
}

} // namespace mlir::tfc::onnx_import

#endif

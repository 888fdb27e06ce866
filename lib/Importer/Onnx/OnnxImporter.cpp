//===- OnnxImporter.cpp - ONNX ModelProto -> tfc dialect ------------------===//
#include "GraphImporter.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

void mlir::tfc::registerImporterDialects(DialectRegistry &registry) {
  registry.insert<TfcDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
}

/// The registry: every op family file adds its handlers here.
static void registerAllOps(HandlerMap &m) {
  registerElementwiseOps(m);
  registerShapeOps(m);
  registerMathOps(m);
  registerIndexOps(m);
  registerQuantOps(m);
}

GraphImporter::GraphImporter(MLIRContext *ctx, ModuleOp module,
                             std::string modelDir,
                             const OnnxImportOptions &options)
    : b(ctx), loc(UnknownLoc::get(ctx)), ctx(ctx), module(module),
      modelDir(std::move(modelDir)), options(options) {
  registerAllOps(handlers);
}

std::vector<std::string> mlir::tfc::onnxImporterOpTypes() {
  HandlerMap m;
  registerAllOps(m);
  std::vector<std::string> out;
  for (const auto &kv : m)
    out.push_back(kv.first);
  return out;
}

LogicalResult GraphImporter::fail(const onnx::NodeProto &node,
                                  const Twine &msg) {
  if (error.empty())
    error = ("node '" + node.name() + "' (" + node.op_type() + "): " + msg).str();
  return failure();
}
LogicalResult GraphImporter::fail(const Twine &msg) {
  if (error.empty())
    error = msg.str();
  return failure();
}

const onnx::AttributeProto *GraphImporter::attr(const onnx::NodeProto &node,
                                                StringRef name) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
int64_t GraphImporter::attrInt(const onnx::NodeProto &node, StringRef name,
                               int64_t dflt) {
  const auto *a = attr(node, name);
  return a ? a->i() : dflt;
}
float GraphImporter::attrFloat(const onnx::NodeProto &node, StringRef name,
                               float dflt) {
  const auto *a = attr(node, name);
  return a ? a->f() : dflt;
}
std::optional<SmallVector<int64_t>>
GraphImporter::attrInts(const onnx::NodeProto &node, StringRef name) {
  const auto *a = attr(node, name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

Value GraphImporter::cIndex(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
std::optional<int64_t> GraphImporter::constIndex(Value v) {
  return getConstantIntValue(v);
}

SmallVector<Value> GraphImporter::dims(Value tensor) {
  auto it = knownDims.find(tensor);
  if (it != knownDims.end())
    return it->second;
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> out;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (type.isDynamicDim(i))
      out.push_back(tensor::DimOp::create(b, loc, tensor, i));
    else
      out.push_back(cIndex(type.getDimSize(i)));
  }
  knownDims[tensor] = out;
  return out;
}

void GraphImporter::recordDims(Value tensor, ArrayRef<Value> d) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> v(d.begin(), d.end());
  // Static type information wins over a dynamic value.
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (!type.isDynamicDim(i) && !constIndex(v[i]))
      v[i] = cIndex(type.getDimSize(i));
  knownDims[tensor] = v;
}

RankedTensorType GraphImporter::typeFromDims(ArrayRef<Value> d, Type elemType) {
  SmallVector<int64_t> shape;
  for (Value v : d)
    shape.push_back(constIndex(v).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elemType);
}

SmallVector<Value> GraphImporter::dynamicDims(ArrayRef<Value> d) {
  SmallVector<Value> out;
  for (Value v : d)
    if (!constIndex(v))
      out.push_back(v);
  return out;
}

FailureOr<SmallVector<Value>>
GraphImporter::broadcastDims(ArrayRef<Value> tensors) {
  size_t rank = 0;
  SmallVector<SmallVector<Value>> all;
  for (Value t : tensors) {
    all.push_back(dims(t));
    rank = std::max(rank, all.back().size());
  }
  SmallVector<Value> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    Value chosen;
    std::optional<int64_t> chosenConst;
    for (auto &d : all) {
      if (i >= d.size())
        continue;
      Value v = d[d.size() - 1 - i];
      std::optional<int64_t> c = constIndex(v);
      if (c && *c == 1)
        continue;
      if (c) {
        if (chosenConst && *chosenConst != *c)
          return failure();
        chosen = v;
        chosenConst = c;
        continue;
      }
      if (!chosen)
        chosen = v; // dynamic: assumed equal to the others
    }
    out[rank - 1 - i] = chosen ? chosen : cIndex(1);
  }
  return out;
}

Value GraphImporter::constantTensor(Attribute attr) {
  auto typed = cast<TypedAttr>(attr);
  Value v = arith::ConstantOp::create(b, loc, typed);
  return v;
}

Value GraphImporter::scalarConstant(Type elemType, double value) {
  auto type = RankedTensorType::get({}, elemType);
  Attribute a;
  if (isa<FloatType>(elemType))
    a = DenseElementsAttr::get(type, b.getFloatAttr(elemType, value));
  else
    a = DenseElementsAttr::get(type, b.getIntegerAttr(elemType, (int64_t)value));
  return constantTensor(a);
}

Value GraphImporter::binary(BinaryKind kind, Value l, Value r) {
  FailureOr<SmallVector<Value>> d = broadcastDims({l, r});
  auto et = cast<RankedTensorType>(l.getType()).getElementType();
  Value v = BinaryOp::create(b, loc, typeFromDims(*d, et), l, r,
                             BinaryKindAttr::get(b.getContext(), kind));
  recordDims(v, *d);
  return v;
}

Value GraphImporter::materialize(Tv &tv) {
  if (tv.tensor)
    return tv.tensor;
  SmallVector<Value> casted;
  for (Value e : *tv.elems) {
    if (tv.elemType.isInteger(1)) {
      casted.push_back(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, e,
                                             cIndex(0)));
    } else if (isa<FloatType>(tv.elemType)) {
      Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), e);
      casted.push_back(arith::SIToFPOp::create(b, loc, tv.elemType, i));
    } else {
      casted.push_back(arith::IndexCastOp::create(b, loc, tv.elemType, e));
    }
  }
  auto type = RankedTensorType::get(tv.elemShape, tv.elemType);
  tv.tensor = tensor::FromElementsOp::create(b, loc, type, casted);
  return tv.tensor;
}

FailureOr<Type> GraphImporter::convertElemType(int32_t t, StringRef what) {
  switch (t) {
  case onnx::TensorProto::FLOAT: return Type(b.getF32Type());
  case onnx::TensorProto::FLOAT16: return Type(b.getF16Type());
  case onnx::TensorProto::BFLOAT16: return Type(b.getBF16Type());
  case onnx::TensorProto::DOUBLE: return Type(b.getF64Type());
  case onnx::TensorProto::INT64: return Type(b.getI64Type());
  case onnx::TensorProto::INT32: return Type(b.getI32Type());
  case onnx::TensorProto::INT8: return Type(b.getI8Type());
  case onnx::TensorProto::UINT8: return Type(b.getIntegerType(8));
  case onnx::TensorProto::BOOL: return Type(b.getI1Type());
  // Quantized codes: one per i8 (GraphImporter::codeTypes says how to read).
  case kOnnxInt4:
  case kOnnxUint4: return Type(b.getIntegerType(8));
  default:
    if (failed(fail(what + ": unsupported element type " +
                    (onnx::TensorProto_DataType_IsValid(t)
                         ? onnx::TensorProto_DataType_Name(
                               (onnx::TensorProto_DataType)t)
                         : std::to_string(t)))))
      return failure();
    return failure();
  }
}

FailureOr<std::string> GraphImporter::readExternal(const onnx::TensorProto &t,
                                                   StringRef what) {
  std::string location;
  int64_t offset = 0, length = -1;
  // A non-negative decimal below 10^18 (std::stoll threw on "abc" and
  // overflowed on huge values: found by fuzzing, test/Fuzz/corpus/onnx).
  auto parseSize = [](const std::string &v, int64_t &out) {
    if (v.empty() || v.size() > 18)
      return false;
    int64_t r = 0;
    for (char c : v) {
      if (c < '0' || c > '9')
        return false;
      r = r * 10 + (c - '0');
    }
    out = r;
    return true;
  };
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if ((kv.key() == "offset" || kv.key() == "length") &&
               !parseSize(kv.value(),
                          kv.key() == "offset" ? offset : length)) {
      (void)fail(what + ": external data " + kv.key() + " '" + kv.value() +
                 "' is not a non-negative integer below 10^18");
      return failure();
    }
  }
  if (location.empty() || location.find("..") != std::string::npos ||
      location[0] == '/') {
    (void)fail(what + ": external data has a missing or unsafe location '" +
               location + "'");
    return failure();
  }
  std::string path = modelDir + "/" + location;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    (void)fail(what + ": cannot open external data file '" + path + "'");
    return failure();
  }
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  if (length < 0)
    length = size - offset;
  if (offset > size || length > size - offset) {
    (void)fail(what + ": external data range [" + Twine(offset) + ", " +
               Twine(offset + length) + ") is outside '" + path + "' (" +
               Twine(size) + " bytes)");
    return failure();
  }
  std::string data(length, '\0');
  in.seekg(offset);
  in.read(data.data(), length);
  if (!in) {
    (void)fail(what + ": short read from '" + path + "'");
    return failure();
  }
  return data;
}

FailureOr<Tv> GraphImporter::importTensor(const onnx::TensorProto &t,
                                          StringRef what) {
  FailureOr<Type> et = convertElemType(t.data_type(), what);
  if (failed(et))
    return failure();
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      (void)fail(what + ": negative dim in initializer");
      return failure();
    }
    // 2^56 bytes at 8 per element: far past any real file, and no product
    // below it overflows (huge dims wrapped n; found by fuzzing).
    if (d > 0 && n > (int64_t(1) << 53) / d) {
      (void)fail(what + ": initializer dims are too large");
      return failure();
    }
    n *= d;
  }
  auto type = RankedTensorType::get(shape, *et);
  int64_t width = et->isInteger(1) ? 1 : (et->getIntOrFloatBitWidth() / 8);
  // Typed fields take at least a byte per element (half a byte for 4-bit
  // types): refuse a shape the tensor cannot fill before allocating n
  // elements for it (test/Fuzz/corpus/onnx/crash-583f...: length_error).
  if (!t.has_raw_data() && t.data_location() != onnx::TensorProto::EXTERNAL &&
      n > 2 * static_cast<int64_t>(t.ByteSizeLong()) + 2) {
    (void)fail(what + ": " + Twine(n) +
               " elements declared, more than the tensor's data can hold");
    return failure();
  }
  std::string raw;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<std::string> r = readExternal(t, what);
    if (failed(r))
      return failure();
    raw = std::move(*r);
  } else if (t.has_raw_data()) {
    raw = t.raw_data();
  } else {
    // Typed fields.
    raw.resize(n * width);
    char *p = raw.data();
    auto put = [&](int64_t i, auto v) { std::memcpy(p + i * width, &v, width); };
    int64_t have = -1;
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      have = t.float_data_size();
      for (int64_t i = 0; i < n && have == n; ++i) put(i, t.float_data(i));
      break;
    case onnx::TensorProto::DOUBLE:
      have = t.double_data_size();
      for (int64_t i = 0; i < n && have == n; ++i) put(i, t.double_data(i));
      break;
    case onnx::TensorProto::INT64:
      have = t.int64_data_size();
      for (int64_t i = 0; i < n && have == n; ++i) put(i, (int64_t)t.int64_data(i));
      break;
    case onnx::TensorProto::INT32:
      have = t.int32_data_size();
      for (int64_t i = 0; i < n && have == n; ++i) put(i, (int32_t)t.int32_data(i));
      break;
    case kOnnxInt4:
    case kOnnxUint4:
      // Two codes per int32_data entry's low byte, as in raw_data.
      n = (n + 1) / 2;
      raw.resize(n);
      [[fallthrough]];
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      have = t.int32_data_size();
      for (int64_t i = 0; i < n && have == n; ++i) p[i] = (char)t.int32_data(i);
      break;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      have = t.int32_data_size();
      for (int64_t i = 0; i < n && have == n; ++i) put(i, (uint16_t)t.int32_data(i));
      break;
    default:
      break;
    }
    if (have != n) {
      (void)fail(what + ": expected " + Twine(n) + " elements, the tensor holds " +
                 Twine(have));
      return failure();
    }
  }
  bool int4 = t.data_type() == kOnnxInt4 ||
              t.data_type() == kOnnxUint4;
  if (int4) {
    // Packed two per byte, low nibble first: one code per i8 byte.
    n = 1;
    for (int64_t d : shape)
      n *= d;
    if ((int64_t)raw.size() != (n + 1) / 2) {
      (void)fail(what + ": expected " + Twine((n + 1) / 2) +
                 " bytes of packed 4-bit data, got " + Twine(raw.size()));
      return failure();
    }
    std::string codes(n, '\0');
    bool sign = t.data_type() == kOnnxInt4;
    for (int64_t i = 0; i < n; ++i) {
      int v = ((unsigned char)raw[i / 2] >> (4 * (i % 2))) & 15;
      codes[i] = (char)(sign && v >= 8 ? v - 16 : v);
    }
    raw = std::move(codes);
  }
  if ((int64_t)raw.size() != n * width) {
    (void)fail(what + ": expected " + Twine(n * width) + " bytes of data, got " +
               Twine(raw.size()));
    return failure();
  }
  Tv tv;
  tv.elemType = *et;
  Attribute attr;
  if (et->isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : raw)
      bits.push_back(c != 0);
    attr = DenseElementsAttr::get(type, ArrayRef<bool>(bits));
  } else {
    attr = bytesAttr(type, ArrayRef<char>(raw.data(), raw.size()));
  }
  // Small integer tensors also get index elements for shape arithmetic.
  if (isa<IntegerType>(*et) && shape.size() <= 1 && n <= 64) {
    SmallVector<Value> elems;
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = 0;
      if (et->isInteger(1))
        v = raw[i] != 0;
      else if (width == 8)
        std::memcpy(&v, raw.data() + i * 8, 8);
      else if (width == 4) {
        int32_t x;
        std::memcpy(&x, raw.data() + i * 4, 4);
        v = x;
      } else if (t.data_type() == onnx::TensorProto::UINT8)
        v = (uint8_t)raw[i];
      else
        v = (int8_t)raw[i];
      elems.push_back(cIndex(v));
    }
    tv.elems = std::move(elems);
    tv.elemShape = shape;
  }
  tv.tensor = constantTensor(attr);
  if (t.data_type() == onnx::TensorProto::UINT8)
    codeTypes[tv.tensor] = {8, true};
  else if (int4)
    codeTypes[tv.tensor] = {4, t.data_type() == kOnnxUint4};
  return tv;
}

Attribute GraphImporter::bytesAttr(RankedTensorType type, ArrayRef<char> raw) {
  if ((int64_t)raw.size() >= options.resourceThresholdBytes) {
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        raw, alignof(std::max_align_t));
    std::string key = "w" + std::to_string(resourceCounter++);
    return DenseResourceElementsAttr::get(type, key, std::move(blob));
  }
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

Value GraphImporter::constantFromBytes(RankedTensorType type,
                                       ArrayRef<char> raw) {
  return constantTensor(bytesAttr(type, raw));
}

FailureOr<Tv *> GraphImporter::input(const onnx::NodeProto &node, int i) {
  if (!hasInput(node, i)) {
    (void)fail(node, "missing input #" + Twine(i));
    return failure();
  }
  auto it = values.find(node.input(i));
  if (it == values.end()) {
    (void)fail(node, "input '" + node.input(i) + "' is not defined");
    return failure();
  }
  return &it->second;
}

FailureOr<Value> GraphImporter::tensorInput(const onnx::NodeProto &node, int i) {
  FailureOr<Tv *> tv = input(node, i);
  if (failed(tv))
    return failure();
  return materialize(**tv);
}

FailureOr<SmallVector<Value>>
GraphImporter::elemsInput(const onnx::NodeProto &node, int i) {
  FailureOr<Tv *> tvOr = input(node, i);
  if (failed(tvOr))
    return failure();
  Tv &tv = **tvOr;
  if (tv.elems)
    return *tv.elems;
  auto type = cast<RankedTensorType>(tv.tensor.getType());
  if (!isa<IntegerType>(type.getElementType()) || type.getRank() > 1 ||
      !type.hasStaticShape() || type.getNumElements() > 64) {
    (void)fail(node, "input '" + node.input(i) +
                         "' must be a small static 1-D integer tensor");
    return failure();
  }
  SmallVector<Value> elems;
  for (int64_t k = 0; k < type.getNumElements(); ++k) {
    SmallVector<Value> idx;
    if (type.getRank() == 1)
      idx.push_back(cIndex(k));
    Value e = tensor::ExtractOp::create(b, loc, tv.tensor, idx);
    if (type.getElementType().isInteger(1))
      e = arith::ExtUIOp::create(b, loc, b.getI64Type(), e);
    elems.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), e));
  }
  tv.elems = elems;
  tv.elemShape = SmallVector<int64_t>(type.getShape());
  return elems;
}

FailureOr<SmallVector<int64_t>>
GraphImporter::constIntsInput(const onnx::NodeProto &node, int i) {
  FailureOr<SmallVector<Value>> e = elemsInput(node, i);
  if (failed(e))
    return failure();
  SmallVector<int64_t> out;
  for (Value v : *e) {
    std::optional<int64_t> c = constIndex(v);
    if (!c) {
      (void)fail(node, "input '" + node.input(i) + "' must be a constant");
      return failure();
    }
    out.push_back(*c);
  }
  return out;
}

std::optional<double> GraphImporter::constScalar(const onnx::NodeProto &node,
                                                 int i) {
  if (!hasInput(node, i))
    return std::nullopt;
  auto it = values.find(node.input(i));
  if (it == values.end() || !it->second.tensor)
    return std::nullopt;
  DenseElementsAttr attr;
  if (!matchPattern(it->second.tensor, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  if (isa<FloatType>(attr.getElementType()))
    return attr.getSplatValue<APFloat>().convertToDouble();
  if (attr.getElementType().isInteger(1))
    return attr.getSplatValue<bool>() ? 1.0 : 0.0;
  return (double)attr.getSplatValue<APInt>().getSExtValue();
}

void GraphImporter::setOutput(const onnx::NodeProto &node, int i, Value t) {
  if (i >= node.output_size() || node.output(i).empty())
    return;
  Tv tv;
  tv.tensor = t;
  tv.elemType = cast<RankedTensorType>(t.getType()).getElementType();
  values[node.output(i)] = tv;
}

void GraphImporter::setOutputElems(const onnx::NodeProto &node, int i,
                                   SmallVector<Value> elems,
                                   ArrayRef<int64_t> elemShape, Type elemType) {
  if (i >= node.output_size() || node.output(i).empty())
    return;
  Tv tv;
  tv.elems = std::move(elems);
  tv.elemShape = SmallVector<int64_t>(elemShape);
  tv.elemType = elemType;
  values[node.output(i)] = tv;
}

Value GraphImporter::reshape(Value input, ArrayRef<Value> newDims) {
  auto it = cast<RankedTensorType>(input.getType());
  RankedTensorType type = typeFromDims(newDims, it.getElementType());
  if (type == it && it.hasStaticShape())
    return input;
  Value r = ReshapeOp::create(b, loc, type, input, dynamicDims(newDims));
  recordDims(r, newDims);
  return r;
}

Value GraphImporter::transpose(Value input, ArrayRef<int64_t> perm) {
  SmallVector<Value> in = dims(input), out;
  for (int64_t p : perm)
    out.push_back(in[p]);
  auto et = cast<RankedTensorType>(input.getType()).getElementType();
  Value r = TransposeOp::create(b, loc, typeFromDims(out, et), input,
                                b.getDenseI64ArrayAttr(perm));
  recordDims(r, out);
  return r;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node) {
  // Ops of other domains are registered as "<domain>.<op type>" (contrib
  // ops: QuantContribOps.cpp).
  bool dflt = node.domain().empty() || node.domain() == "ai.onnx";
  auto it = handlers.find(dflt ? node.op_type()
                               : node.domain() + "." + node.op_type());
  if (it == handlers.end() && node.domain() == "com.microsoft") {
    std::string known;
    for (const auto &h : handlers)
      if (StringRef(h.first).consume_front("com.microsoft."))
        known += (known.empty() ? "" : ", ") + h.first.substr(14);
    return fail(node, "unsupported com.microsoft contrib op (tfc imports: " +
                          known + ")");
  }
  if (it == handlers.end() && !dflt)
    return fail(node, "unsupported operator domain '" + node.domain() + "'");
  if (it == handlers.end())
    return fail(node, "unsupported op type");
  loc = NameLoc::get(b.getStringAttr(node.name().empty() ? node.op_type()
                                                         : node.name()));
  return it->second(*this, node);
}

static std::string sanitize(StringRef s) {
  std::string out;
  for (char c : s)
    out.push_back(isalnum((unsigned char)c) ? c : '_');
  if (out.empty() || isdigit((unsigned char)out[0]))
    out = "v" + out;
  return out;
}

/// An ONNX sparse_initializer as a dense TensorProto (raw little-endian
/// data): `values` [NNZ] scattered at `indices` ([NNZ] linear or [NNZ, rank]
/// coordinates) into zeros of shape `dims`. Fails naming the tensor.
static LogicalResult densifySparse(const onnx::SparseTensorProto &sp,
                                   onnx::TensorProto &out, std::string &err) {
  const onnx::TensorProto &vals = sp.values();
  std::string what = "sparse initializer '" + vals.name() + "'";
  int width = 0;
  switch (vals.data_type()) {
  case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: width = 4; break;
  case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: width = 8; break;
  case onnx::TensorProto::FLOAT16: case onnx::TensorProto::BFLOAT16: width = 2; break;
  case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL: width = 1; break;
  default:
    err = what + ": unsupported element type " + std::to_string(vals.data_type());
    return failure();
  }
  int64_t nnz = vals.dims_size() == 1 ? vals.dims(0) : -1;
  std::string vbytes;
  if (vals.has_raw_data()) {
    vbytes = vals.raw_data();
  } else if (vals.data_type() == onnx::TensorProto::FLOAT) {
    vbytes.assign(reinterpret_cast<const char *>(vals.float_data().data()),
                  vals.float_data_size() * 4);
  } else if (vals.data_type() == onnx::TensorProto::DOUBLE) {
    vbytes.assign(reinterpret_cast<const char *>(vals.double_data().data()),
                  vals.double_data_size() * 8);
  } else if (vals.data_type() == onnx::TensorProto::INT64) {
    vbytes.assign(reinterpret_cast<const char *>(vals.int64_data().data()),
                  vals.int64_data_size() * 8);
  } else if (vals.data_type() == onnx::TensorProto::INT32) {
    vbytes.assign(reinterpret_cast<const char *>(vals.int32_data().data()),
                  vals.int32_data_size() * 4);
  } else {
    err = what + ": values must be in raw_data for this element type";
    return failure();
  }
  if (nnz < 0 || (int64_t)vbytes.size() != nnz * width) {
    err = what + ": values are not a 1-D tensor of its element count";
    return failure();
  }
  const onnx::TensorProto &idx = sp.indices();
  std::vector<int64_t> ind;
  if (idx.has_raw_data()) {
    ind.resize(idx.raw_data().size() / 8);
    memcpy(ind.data(), idx.raw_data().data(), ind.size() * 8);
  } else {
    ind.assign(idx.int64_data().begin(), idx.int64_data().end());
  }
  int64_t rank = sp.dims_size(), total = 1;
  SmallVector<int64_t> strides(rank, 1);
  for (int64_t i = rank - 1; i >= 0; --i) {
    strides[i] = total;
    total *= sp.dims(i);
  }
  bool coords = idx.dims_size() == 2;
  if (idx.data_type() != onnx::TensorProto::INT64 ||
      (int64_t)ind.size() != nnz * (coords ? rank : 1) ||
      (coords && idx.dims(1) != rank)) {
    err = what + ": indices must be int64 [NNZ] or [NNZ, rank]";
    return failure();
  }
  std::string dense(total * width, '\0');
  for (int64_t i = 0; i < nnz; ++i) {
    int64_t lin = 0;
    if (coords) {
      for (int64_t d = 0; d < rank; ++d) {
        int64_t c = ind[i * rank + d];
        if (c < 0 || c >= sp.dims(d)) {
          err = what + ": index " + std::to_string(c) + " out of range";
          return failure();
        }
        lin += c * strides[d];
      }
    } else {
      lin = ind[i];
    }
    if (lin < 0 || lin >= total) {
      err = what + ": index " + std::to_string(lin) + " out of range";
      return failure();
    }
    memcpy(&dense[lin * width], &vbytes[i * width], width);
  }
  out.set_name(vals.name());
  out.set_data_type(vals.data_type());
  for (int64_t d : sp.dims())
    out.add_dims(d);
  out.set_raw_data(dense);
  return success();
}

LogicalResult GraphImporter::importGraph(const onnx::GraphProto &graph,
                                         int64_t opsetVersion) {
  opset = opsetVersion;
  std::set<std::string> initNames;
  for (const auto &t : graph.initializer())
    initNames.insert(t.name());
  for (const auto &t : graph.sparse_initializer())
    initNames.insert(t.values().name());

  // Function signature from the graph inputs that are not initializers.
  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  for (const auto &in : graph.input()) {
    if (initNames.count(in.name()))
      continue;
    if (!in.type().has_tensor_type())
      return fail("graph input '" + in.name() + "' is not a tensor");
    const auto &tt = in.type().tensor_type();
    // uint8 imports as signless i8 bytes, which only the quantized matmuls
    // read as unsigned codes; a uint8 graph input that reaches any other op
    // would be read as signed (DequantizeLinear of a uint8 input gave wrong
    // answers in ONNX's node tests), so it is refused.
    if (tt.elem_type() == onnx::TensorProto::UINT8)
      for (const auto &n : graph.node())
        for (const auto &i : n.input())
          if (i == in.name() &&
              !llvm::is_contained({"MatMulInteger", "DynamicQuantizeMatMul",
                                   "MatMulNBits"},
                                  n.op_type()))
            return fail("graph input '" + in.name() +
                        "': unsupported element type uint8 into node '" +
                        n.name() + "' (" + n.op_type() +
                        "): unsigned tensors are read only as quantized "
                        "codes");
    FailureOr<Type> et =
        convertElemType(tt.elem_type(), "graph input '" + in.name() + "'");
    if (failed(et))
      return failure();
    if (!tt.has_shape())
      return fail("graph input '" + in.name() + "' has no shape (rank unknown)");
    SmallVector<int64_t> shape;
    for (const auto &d : tt.shape().dim())
      shape.push_back(d.has_dim_value() && d.dim_value() > 0
                          ? d.dim_value()
                          : ShapedType::kDynamic);
    argTypes.push_back(RankedTensorType::get(shape, *et));
    args.push_back(&in);
  }

  b.setInsertionPointToEnd(module.getBody());
  std::string fname = "tfc_" + sanitize(options.modelName) + "_main";
  auto func = func::FuncOp::create(b, loc, fname,
                                   b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);

  // Inputs: dims named by the same dim_param share one SSA value.
  std::map<std::string, Value> symbolDims;
  DenseMap<Value, std::string> dimNames;
  for (auto [i, vi] : llvm::enumerate(args)) {
    Value arg = entry->getArgument(i);
    SmallVector<Value> d;
    SmallVector<Attribute> names;
    const auto &shape = vi->type().tensor_type().shape();
    for (int k = 0; k < shape.dim_size(); ++k) {
      const auto &od = shape.dim(k);
      if (od.has_dim_value() && od.dim_value() > 0) {
        d.push_back(cIndex(od.dim_value()));
        names.push_back(b.getStringAttr(std::to_string(od.dim_value())));
        continue;
      }
      std::string sym = od.has_dim_param() && !od.dim_param().empty()
                            ? sanitize(od.dim_param())
                            : sanitize(vi->name()) + "_d" + std::to_string(k);
      auto found = symbolDims.find(sym);
      if (found == symbolDims.end()) {
        Value v = tensor::DimOp::create(b, loc, arg, k);
        found = symbolDims.emplace(sym, v).first;
        dimNames[v] = sym;
      }
      d.push_back(found->second);
      names.push_back(b.getStringAttr(sym));
    }
    recordDims(arg, d);
    func.setArgAttr(i, "tfc.name", b.getStringAttr(vi->name()));
    func.setArgAttr(i, "tfc.dims", b.getArrayAttr(names));
    Tv tv;
    tv.tensor = arg;
    tv.elemType = cast<RankedTensorType>(arg.getType()).getElementType();
    values[vi->name()] = tv;
  }

  for (const auto &t : graph.initializer()) {
    FailureOr<Tv> tv = importTensor(t, "initializer '" + t.name() + "'");
    if (failed(tv))
      return failure();
    // Weights keep their ONNX name (--tfc-prune's masks and ONNX export).
    if (tv->tensor)
      if (auto c = tv->tensor.getDefiningOp<arith::ConstantOp>())
        if (isa<DenseResourceElementsAttr>(c.getValue()))
          c->setAttr("tfc.onnx_name", b.getStringAttr(t.name()));
    values[t.name()] = *tv;
  }
  // Sparse initializers are densified: the zeros then take the path of any
  // imported zeros (--tfc-prune's detection, docs/DESIGN.md "Pruning").
  for (const auto &sp : graph.sparse_initializer()) {
    onnx::TensorProto dense;
    std::string err;
    if (failed(densifySparse(sp, dense, err)))
      return fail(err);
    FailureOr<Tv> tv =
        importTensor(dense, "sparse initializer '" + dense.name() + "'");
    if (failed(tv))
      return failure();
    if (tv->tensor)
      if (auto c = tv->tensor.getDefiningOp<arith::ConstantOp>())
        if (isa<DenseResourceElementsAttr>(c.getValue()))
          c->setAttr("tfc.onnx_name", b.getStringAttr(dense.name()));
    values[dense.name()] = *tv;
  }

  for (const auto &node : graph.node())
    if (failed(importNode(node)))
      return failure();

  // Outputs.
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  SmallVector<std::pair<std::string, SmallVector<Attribute>>> resultInfo;
  for (const auto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return fail("graph output '" + out.name() + "' is never produced");
    Value v = materialize(it->second);
    SmallVector<Value> d = dims(v);
    SmallVector<Attribute> names;
    const onnx::TensorShapeProto *declared =
        out.type().tensor_type().has_shape() ? &out.type().tensor_type().shape()
                                             : nullptr;
    for (auto [k, dv] : llvm::enumerate(d)) {
      if (std::optional<int64_t> c = constIndex(dv)) {
        names.push_back(b.getStringAttr(std::to_string(*c)));
        continue;
      }
      auto nm = dimNames.find(dv);
      if (nm != dimNames.end())
        names.push_back(b.getStringAttr(nm->second));
      else if (declared && (int)k < declared->dim_size() &&
               declared->dim(k).has_dim_param())
        names.push_back(b.getStringAttr(sanitize(declared->dim(k).dim_param())));
      else
        names.push_back(b.getStringAttr(sanitize(out.name()) + "_d" +
                                        std::to_string(k)));
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
    resultInfo.push_back({out.name(), names});
  }
  func::ReturnOp::create(b, loc, results);
  func.setType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, info] : llvm::enumerate(resultInfo)) {
    func.setResultAttr(i, "tfc.name", b.getStringAttr(info.first));
    func.setResultAttr(i, "tfc.dims", b.getArrayAttr(info.second));
  }
  func->setAttr("tfc.entry", b.getUnitAttr());
  raiseQuantPatterns(*this, func);
  return success();
}

OwningOpRef<ModuleOp> mlir::tfc::importOnnxModel(MLIRContext *context,
                                                 const std::string &path,
                                                 const OnnxImportOptions &options,
                                                 std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    error = "cannot open ONNX model '" + path + "': " + strerror(errno);
    return nullptr;
  }
  onnx::ModelProto model;
  {
    google::protobuf::io::FileInputStream raw(fd);
    google::protobuf::io::CodedInputStream coded(&raw);
    coded.SetTotalBytesLimit(INT32_MAX);
    bool ok = model.ParseFromCodedStream(&coded) &&
              coded.ConsumedEntireMessage();
    ::close(fd);
    if (!ok) {
      error = "'" + path + "' is not a valid ONNX model (protobuf parse failed: "
              "truncated or corrupt file)";
      return nullptr;
    }
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    error = "'" + path + "' is not a valid ONNX model (no graph or no nodes)";
    return nullptr;
  }
  int64_t opset = -1;
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  if (opset < 0) {
    error = "'" + path + "': model imports no default-domain opset";
    return nullptr;
  }
  if (opset < 13 || opset > 21) {
    error = "'" + path + "': opset " + std::to_string(opset) +
            " is not supported (tfc imports opsets 13 to 21)";
    return nullptr;
  }
  if (!model.functions().empty()) {
    // Model-local functions are inlined by exporters in the models we
    // target; refuse the rest clearly.
    for (const auto &n : model.graph().node())
      for (const auto &f : model.functions())
        if (n.op_type() == f.name() && n.domain() == f.domain()) {
          error = "'" + path + "': node '" + n.name() +
                  "' calls model-local function '" + f.name() +
                  "', which tfc does not inline yet";
          return nullptr;
        }
  }
  context->loadDialect<TfcDialect, func::FuncDialect, arith::ArithDialect,
                       tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(context));
  std::string dir = ".";
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos)
    dir = path.substr(0, slash);
  GraphImporter importer(context, *module, dir, options);
  if (failed(importer.importGraph(model.graph(), opset))) {
    error = "'" + path + "': " + importer.takeError();
    return nullptr;
  }
  (*module)->setAttr("tfc.model_name",
                     StringAttr::get(context, options.modelName));
  (*module)->setAttr("tfc.opset",
                     IntegerAttr::get(IntegerType::get(context, 64), opset));
  if (failed(verify(*module))) {
    error = "'" + path + "': the imported IR does not verify (importer bug)";
    return nullptr;
  }
  return module;
}

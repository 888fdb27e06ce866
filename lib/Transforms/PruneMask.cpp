//===- PruneMask.cpp - --tfc-prune mask=FILE: reading user masks ----------===//
//
// docs/DESIGN.md "Pruning", Masks: .npz (any dtype) or .safetensors files
// mapping ONNX initializer names to keep-masks (nonzero = keep).
//
//===----------------------------------------------------------------------===//
#include "Prune.h"

#include "Npz.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace mlir::tfc::prune;

static bool readSafetensors(const std::string &path,
                            std::map<std::string, MaskEntry> &out,
                            std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buf) {
    error = "cannot read mask file '" + path + "': " + buf.getError().message();
    return false;
  }
  StringRef all = (*buf)->getBuffer();
  if (all.size() < 8) {
    error = "mask file '" + path + "': not a safetensors file (too short)";
    return false;
  }
  uint64_t hlen = 0;
  memcpy(&hlen, all.data(), 8);
  if (hlen > all.size() - 8) {
    error = "mask file '" + path + "': header length beyond the file";
    return false;
  }
  auto json = llvm::json::parse(all.substr(8, hlen));
  if (!json) {
    error =
        "mask file '" + path + "': bad header: " + toString(json.takeError());
    return false;
  }
  const llvm::json::Object *obj = json->getAsObject();
  if (!obj) {
    error = "mask file '" + path + "': the header is not an object";
    return false;
  }
  const char *base = all.data() + 8 + hlen;
  size_t dataSize = all.size() - 8 - hlen;
  for (const auto &kv : *obj) {
    std::string name = kv.first.str();
    if (name == "__metadata__")
      continue;
    const llvm::json::Object *t = kv.second.getAsObject();
    auto fail = [&](const Twine &why) {
      error = ("mask file '" + path + "', tensor '" + name + "': " + why).str();
      return false;
    };
    if (!t)
      return fail("not an object");
    std::optional<StringRef> dtype = t->getString("dtype");
    const llvm::json::Array *shape = t->getArray("shape");
    const llvm::json::Array *offs = t->getArray("data_offsets");
    if (!dtype || !shape || !offs || offs->size() != 2)
      return fail("needs dtype, shape and data_offsets");
    static const std::map<std::string, int> widths = {
        {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F16", 2}, {"BF16", 2},
        {"I32", 4},  {"F32", 4}, {"I64", 8}, {"F64", 8}};
    auto w = widths.find(dtype->str());
    if (w == widths.end())
      return fail("unsupported dtype " + *dtype);
    MaskEntry e;
    int64_t count = 1;
    for (const auto &d : *shape) {
      std::optional<int64_t> v = d.getAsInteger();
      if (!v || *v < 0)
        return fail("bad shape");
      e.shape.push_back(*v);
      count *= *v;
    }
    std::optional<int64_t> b0 = (*offs)[0].getAsInteger(),
                           b1 = (*offs)[1].getAsInteger();
    if (!b0 || !b1 || *b0 < 0 || *b1 < *b0 || (size_t)*b1 > dataSize ||
        *b1 - *b0 != count * w->second)
      return fail("data_offsets do not match the shape");
    e.keep.resize(count);
    const char *p = base + *b0;
    for (int64_t i = 0; i < count; ++i) {
      bool nz = false;
      for (int j = 0; j < w->second; ++j)
        nz |= p[i * w->second + j] != 0;
      // -0.0 is "zero" too for float masks.
      if (nz && (*dtype == "F32" || *dtype == "F64" || *dtype == "F16" ||
                 *dtype == "BF16")) {
        nz = false;
        for (int j = 0; j < w->second - 1; ++j)
          nz |= p[i * w->second + j] != 0;
        nz |= (p[i * w->second + w->second - 1] & 0x7f) != 0;
      }
      e.keep[i] = nz;
    }
    out[name] = std::move(e);
  }
  return true;
}

bool mlir::tfc::prune::readMaskFile(const std::string &path,
                                    std::map<std::string, MaskEntry> &out,
                                    std::string &error) {
  if (StringRef(path).ends_with(".safetensors"))
    return readSafetensors(path, out, error);
  if (!StringRef(path).ends_with(".npz")) {
    error = "mask file '" + path + "': expected .npz or .safetensors";
    return false;
  }
  std::map<std::string, tfcrun::NpyArray> arrays;
  if (!tfcrun::readNpz(path, arrays, error))
    return false;
  for (auto &[name, a] : arrays) {
    MaskEntry e;
    e.shape = a.shape();
    e.keep.resize(a.numElements());
    for (int64_t i = 0; i < a.numElements(); ++i)
      e.keep[i] = a.at(i) != 0.0;
    out[name] = std::move(e);
  }
  return true;
}

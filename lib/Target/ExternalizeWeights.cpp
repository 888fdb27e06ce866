//===- ExternalizeWeights.cpp - large constants -> .tfcw file -------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "tfc/Runtime/tfc_runtime.h"
#include "tfc/Support/WeightsFormat.h"

#include "tfc/Transforms/Passes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

using namespace mlir;

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCEXTERNALIZEWEIGHTS
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

namespace {

/// Raw little-endian bytes of an elements attribute: a view of the
/// attribute's own storage (it outlives the pass's use of it), or of
/// `splat` for a splat, expanded there.
std::optional<ArrayRef<char>> rawBytes(ElementsAttr attr, std::string &splat) {
  auto type = cast<ShapedType>(attr.getType());
  Type et = type.getElementType();
  if (et.isInteger(1) || !et.isIntOrFloat())
    return std::nullopt;
  int64_t width = et.getIntOrFloatBitWidth() / 8;
  int64_t n = type.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    if ((int64_t)data.size() != n * width)
      return std::nullopt;
    return data;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> data = dense.getRawData();
    if (dense.isSplat()) {
      splat.clear();
      splat.reserve(n * width);
      for (int64_t i = 0; i < n; ++i)
        splat.append(data.data(), width);
      return ArrayRef<char>(splat.data(), splat.size());
    }
    return data;
  }
  return std::nullopt;
}

/// std::string's order on byte ranges (unsigned bytes, then length), as
/// a three-way comparison.
int compareBytes(ArrayRef<char> a, ArrayRef<char> b) {
  size_t n = std::min(a.size(), b.size());
  if (int r = n ? std::memcmp(a.data(), b.data(), n) : 0)
    return r;
  return a.size() < b.size() ? -1 : a.size() > b.size();
}

int32_t dtypeOf(Type t) {
  if (t.isF32())
    return TFC_DTYPE_F32;
  if (t.isF16())
    return TFC_DTYPE_F16;
  if (t.isBF16())
    return TFC_DTYPE_BF16;
  if (t.isF64())
    return TFC_DTYPE_F64;
  if (t.isInteger(64))
    return TFC_DTYPE_I64;
  if (t.isInteger(32))
    return TFC_DTYPE_I32;
  return TFC_DTYPE_I8;
}

/// tfc_hash64 (WeightsFormat.h, its begin / word / end steps) over bytes
/// given in pieces; `size` is the total, known first.
class HashStream {
public:
  explicit HashStream(uint64_t size) : h(tfc_hash64_begin(size)) {}
  void add(const char *p, size_t len) {
    for (; n && len; --len) {
      buf[n++] = *p++;
      if (n == 8)
        flush();
    }
    for (; len >= 8; p += 8, len -= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      word(w);
    }
    for (; len; --len)
      buf[n++] = *p++;
  }
  void zeros(uint64_t len) {
    static const char zero[64] = {};
    for (; len; len -= std::min<uint64_t>(len, sizeof zero))
      add(zero, std::min<uint64_t>(len, sizeof zero));
  }
  uint64_t finish() {
    if (n) {
      std::memset(buf + n, 0, 8 - n);
      flush();
    }
    return tfc_hash64_end(h);
  }

private:
  void word(uint64_t w) { h = tfc_hash64_word(h, w); }
  void flush() {
    uint64_t w;
    std::memcpy(&w, buf, 8);
    word(w);
    n = 0;
  }
  uint64_t h;
  unsigned char buf[8];
  unsigned n = 0;
};

struct Entry {
  std::string name;
  uint64_t offset, nbytes;
  int32_t dtype;
  SmallVector<int64_t> dims;
};

template <typename T> void put(std::string &s, T v) {
  s.append(reinterpret_cast<const char *>(&v), sizeof(T));
}

struct ExternalizeWeightsPass
    : public tfc::impl::TfcExternalizeWeightsBase<ExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The main entry and, with tfc-kv-cache, the step entry: both read the
    // same weights at the same offsets.
    SmallVector<func::FuncOp> entries;
    bool hasMain = false;
    module.walk([&](func::FuncOp f) {
      if (f->hasAttr("tfc.entry") || f->hasAttr("tfc.step_entry"))
        entries.push_back(f);
      hasMain |= f->hasAttr("tfc.entry");
    });
    if (!hasMain) {
      module.emitError("no function marked tfc.entry");
      return signalPassFailure();
    }
    SmallVector<Entry> table;
    DenseMap<StringAttr, uint64_t> offsets;
    SmallVector<memref::GlobalOp> moved;
    // Views of the constants' bytes (no copies: SmolLM2 holds 650 MB of
    // them); a splat's expansion is owned by its candidate.
    struct Candidate {
      memref::GlobalOp global;
      ArrayRef<char> bytes;
      std::unique_ptr<std::string> splat;
      uint64_t hash;
    };
    std::vector<Candidate> candidates;
    for (auto g : module.getOps<memref::GlobalOp>()) {
      if (!g.getConstant() || !g.getInitialValue())
        continue;
      auto init = dyn_cast<ElementsAttr>(*g.getInitialValue());
      if (!init)
        continue;
      MemRefType mt = g.getType();
      if (!mt.hasStaticShape() || !mt.getLayout().isIdentity())
        continue;
      auto splat = std::make_unique<std::string>();
      std::optional<ArrayRef<char>> bytes = rawBytes(init, *splat);
      if (!bytes || (int64_t)bytes->size() < minBytes)
        continue;
      uint64_t h = tfc_hash64(bytes->data(), bytes->size());
      candidates.push_back({g, *bytes, std::move(splat), h});
    }
    // The data section is laid out by content (hash, then bytes), not by
    // the order in which the functions use the constants, and identical
    // constants share one copy: builds of one model that hold the same
    // constants (e.g. unpartitioned and pipeline-partitioned) get the same
    // data section, so a file can be rebuilt from another's data and its
    // own header (scripts/device_pack.py).
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate &a, const Candidate &b) {
                       if (a.hash != b.hash)
                         return a.hash < b.hash;
                       if (int r = compareBytes(a.bytes, b.bytes))
                         return r < 0;
                       // Equal bytes: by type, so that the table does not
                       // depend on the module's order of the globals.
                       MemRefType ta = memref::GlobalOp(a.global).getType(),
                                  tb = memref::GlobalOp(b.global).getType();
                       int32_t da = dtypeOf(ta.getElementType()),
                               db = dtypeOf(tb.getElementType());
                       if (da != db)
                         return da < db;
                       return ta.getShape() < tb.getShape();
                     });
    auto sameAsPrev = [&](size_t i) {
      return i > 0 && candidates[i - 1].hash == candidates[i].hash &&
             candidates[i - 1].bytes == candidates[i].bytes;
    };
    // The section is never assembled in memory: each distinct constant's
    // offset is laid out here, the hash runs over the pieces and the file
    // is written from them (the constants' own storage).
    struct Piece {
      uint64_t offset;
      ArrayRef<char> bytes;
    };
    SmallVector<Piece> pieces;
    uint64_t dataSize = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Candidate &c = candidates[i];
      memref::GlobalOp g = c.global;
      MemRefType mt = g.getType();
      if (!sameAsPrev(i)) {
        dataSize = llvm::alignTo(dataSize, TFCW_ALIGN);
        pieces.push_back({dataSize, c.bytes});
        dataSize += c.bytes.size();
      }
      uint64_t offset = pieces.back().offset;
      table.push_back(Entry{g.getSymName().str(), offset, c.bytes.size(),
                            dtypeOf(mt.getElementType()),
                            SmallVector<int64_t>(mt.getShape())});
      offsets[g.getSymNameAttr()] = offset;
      moved.push_back(g);
    }
    dataSize = llvm::alignTo(dataSize, TFCW_ALIGN);
    // The table's names: the globals' names without bufferization's
    // uniquing counter ("__constant_576xf32_48"), numbered again in table
    // order when several share one. Bufferization numbers constants in the
    // order it meets them, which differed between two runs of one build
    // (--kv-cache: the main and step functions visited in either order), so
    // the .tfcw differed; the table order above is the content's.
    auto stem = [](StringRef name) {
      StringRef base = name.rtrim("0123456789");
      return base.size() < name.size() && base.ends_with("_") && base.size() > 1
                 ? base.drop_back()
                 : name;
    };
    llvm::StringMap<unsigned> perStem, seen;
    llvm::StringSet<> used; // names stay unique, whatever the globals' names
    for (const Entry &e : table)
      ++perStem[stem(e.name)];
    for (Entry &e : table) {
      std::string base = stem(e.name).str();
      std::string name =
          perStem[base] > 1 ? base + "_" + std::to_string(seen[base]++) : base;
      while (!used.insert(name).second)
        name = base + "_" + std::to_string(seen[base]++);
      e.name = name;
    }

    // New leading argument: the data section as memref<?xi8>.
    OpBuilder b(module.getContext());
    auto wType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    for (func::FuncOp entry : entries) {
      if (failed(entry.insertArgument(0u, wType, {}, entry.getLoc())))
        return signalPassFailure();
      entry.setArgAttr(0, "tfc.weights", b.getUnitAttr());
      Value weights = entry.getArgument(0);
      SmallVector<memref::GetGlobalOp> uses;
      entry.walk([&](memref::GetGlobalOp gg) {
        if (offsets.count(gg.getNameAttr().getAttr()))
          uses.push_back(gg);
      });
      for (memref::GetGlobalOp gg : uses) {
        b.setInsertionPoint(gg);
        Value off = arith::ConstantIndexOp::create(
            b, gg.getLoc(), offsets[gg.getNameAttr().getAttr()]);
        Value view = memref::ViewOp::create(b, gg.getLoc(), gg.getType(),
                                            weights, off, ValueRange{});
        gg.replaceAllUsesWith(view);
        gg.erase();
      }
    }
    // Any use left (outside the entry functions) is an error. One walk
    // collects every symbol the module still references (asking
    // symbolKnownUseEmpty per global walked the whole module once per
    // weight: 2 of the 8 s this pass took on SmolLM2 with --kv-cache).
    DenseSet<StringAttr> referenced;
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(&module.getBodyRegion()))
      for (const SymbolTable::SymbolUse &u : *uses)
        referenced.insert(u.getSymbolRef().getRootReference());
    for (memref::GlobalOp g : moved) {
      if (referenced.contains(g.getSymNameAttr())) {
        g.emitError("weight global is used outside the entry functions");
        return signalPassFailure();
      }
      g.erase();
    }
    // The section in order: each piece after the zeros that align it, and
    // the zeros that end it. Hashed here, written below.
    auto eachPart = [&](auto &&zeros, auto &&bytes) {
      uint64_t at = 0;
      for (const Piece &p : pieces) {
        zeros(p.offset - at);
        bytes(p.bytes);
        at = p.offset + p.bytes.size();
      }
      zeros(dataSize - at);
    };
    HashStream hs64(dataSize);
    eachPart([&](uint64_t n) { hs64.zeros(n); },
             [&](ArrayRef<char> d) { hs64.add(d.data(), d.size()); });
    uint64_t hash = hs64.finish();
    module->setAttr("tfc.weights_size", b.getI64IntegerAttr(dataSize));
    module->setAttr("tfc.weights_hash",
                    b.getI64IntegerAttr(static_cast<int64_t>(hash)));
    if (outputPath.empty())
      return;

    std::string header;
    header.append(TFCW_MAGIC, 8);
    put<uint64_t>(header, 0); // header_size, patched below
    put<uint64_t>(header, dataSize);
    put<uint64_t>(header, hash);
    put<uint32_t>(header, table.size());
    put<uint32_t>(header, 0);
    for (const Entry &e : table) {
      put<uint64_t>(header, e.offset);
      put<uint64_t>(header, e.nbytes);
      put<uint32_t>(header, e.dtype);
      put<uint32_t>(header, e.dims.size());
      for (int64_t d : e.dims)
        put<int64_t>(header, d);
      put<uint32_t>(header, e.name.size());
      header += e.name;
    }
    header.resize(llvm::alignTo(header.size(), TFCW_ALIGN), '\0');
    uint64_t hs = header.size();
    std::memcpy(header.data() + 8, &hs, 8);
    std::error_code ec;
    llvm::raw_fd_ostream os(outputPath, ec, llvm::sys::fs::OF_None);
    if (ec) {
      module.emitError("cannot write weights file '")
          << outputPath << "': " << ec.message();
      return signalPassFailure();
    }
    os << header;
    eachPart([&](uint64_t n) { os.write_zeros(n); },
             [&](ArrayRef<char> d) { os.write(d.data(), d.size()); });
    os.close();
    if (os.has_error()) {
      module.emitError("error writing weights file '") << outputPath << "'";
      return signalPassFailure();
    }
  }
};

} // namespace

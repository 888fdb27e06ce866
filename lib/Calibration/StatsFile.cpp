//===- StatsFile.cpp - the calibration stats file (JSON + sidecar) --------===//
#include "tfc/Calibration/Stats.h"

#include "llvm/Support/Alignment.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace tfc::calib;
namespace json = llvm::json;

namespace {

constexpr char kMagic[8] = {'T', 'F', 'C', 'C', 'A', 'L', 'B', '1'};
constexpr int64_t kHeaderBytes = 64;

int64_t align64(int64_t v) { return (v + 63) / 64 * 64; }

json::Array shapeOf(std::initializer_list<int64_t> dims) {
  json::Array a;
  for (int64_t d : dims)
    a.push_back(d);
  return a;
}

/// A JSON number that must be finite (NaN / inf are written as null).
json::Value num(double v) {
  if (!std::isfinite(v))
    return nullptr;
  return v;
}

} // namespace

bool tfc::calib::writeStats(const std::string &path, const std::string &model,
                            int64_t samples,
                            const std::vector<TensorStats> &tensors,
                            std::string &error) {
  std::string binPath = path + ".bin";
  // Lay the arrays out first.
  int64_t offset = kHeaderBytes;
  json::Array recs;
  std::vector<std::pair<int64_t, const std::vector<double> *>> arrays;
  for (const TensorStats &t : tensors) {
    json::Object clip;
    for (const std::string &m : clipMethods())
      clip[m] = num(t.clip(m));
    json::Array ops;
    for (const std::string &o : t.ops)
      ops.push_back(o);
    json::Object r{{"name", t.name},
                   {"ops", std::move(ops)},
                   {"k", t.k},
                   {"rows", t.rows},
                   {"min", num(t.min)},
                   {"max", num(t.max)},
                   {"clip", std::move(clip)}};
    r["channel_sq_norms"] =
        json::Object{{"offset", offset}, {"shape", shapeOf({t.k})}};
    arrays.emplace_back(offset, &t.channelSq);
    offset = align64(offset + t.k * 8);
    if (!t.hessian.empty()) {
      r["hessian"] =
          json::Object{{"offset", offset}, {"shape", shapeOf({t.k, t.k})}};
      arrays.emplace_back(offset, &t.hessian);
      offset = align64(offset + t.k * t.k * 8);
    }
    recs.push_back(std::move(r));
  }
  std::error_code ec;
  {
    llvm::raw_fd_ostream bin(binPath, ec);
    if (ec) {
      error = "cannot write '" + binPath + "': " + ec.message();
      return false;
    }
    char header[kHeaderBytes] = {};
    std::memcpy(header, kMagic, 8);
    uint32_t version = kStatsVersion;
    std::memcpy(header + 8, &version, 4);
    uint64_t size = static_cast<uint64_t>(offset);
    std::memcpy(header + 16, &size, 8);
    bin.write(header, kHeaderBytes);
    int64_t at = kHeaderBytes;
    for (auto &[off, vec] : arrays) {
      std::string pad(static_cast<size_t>(off - at), '\0');
      bin << pad;
      bin.write(reinterpret_cast<const char *>(vec->data()),
                vec->size() * sizeof(double));
      at = off + static_cast<int64_t>(vec->size() * sizeof(double));
    }
    bin << std::string(static_cast<size_t>(offset - at), '\0');
    if (bin.has_error()) {
      error = "error writing '" + binPath + "'";
      return false;
    }
  }
  json::Object root{{"format", "tfc-calib-stats"},
                    {"version", kStatsVersion},
                    {"model", model},
                    {"samples", samples},
                    {"sidecar", llvm::sys::path::filename(binPath).str()},
                    {"tensors", std::move(recs)}};
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return false;
  }
  os << llvm::formatv("{0:1}", json::Value(std::move(root))) << "\n";
  return true;
}

StatsFile::StatsFile() = default;
StatsFile::~StatsFile() = default;
StatsFile::StatsFile(StatsFile &&) = default;
StatsFile &StatsFile::operator=(StatsFile &&) = default;

const TensorRecord *StatsFile::forOp(const std::string &key) const {
  auto it = byOp.find(key);
  return it == byOp.end() ? nullptr : &records[it->second];
}

bool StatsFile::hasHessians() const {
  for (const TensorRecord &r : records)
    if (r.hessianOffset >= 0)
      return true;
  return false;
}

const double *StatsFile::channelSqNorms(const TensorRecord &t) const {
  if (t.normsOffset < 0 || !sidecar)
    return nullptr;
  return reinterpret_cast<const double *>(sidecar->getBufferStart() +
                                          t.normsOffset);
}

const double *StatsFile::hessian(const TensorRecord &t) const {
  if (t.hessianOffset < 0 || !sidecar)
    return nullptr;
  return reinterpret_cast<const double *>(sidecar->getBufferStart() +
                                          t.hessianOffset);
}

bool StatsFile::load(const std::string &p, std::string &error) {
  path = p;
  auto fail = [&](const llvm::Twine &msg) {
    error = ("stats '" + path + "': " + msg).str();
    return false;
  };
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return fail("cannot read: " + buf.getError().message());
  llvm::Expected<json::Value> parsed = json::parse((*buf)->getBuffer());
  if (!parsed)
    return fail("not valid JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return fail("the top level must be an object");
  auto fmt = root->getString("format");
  if (!fmt)
    return fail("missing key 'format'");
  if (*fmt != "tfc-calib-stats")
    return fail("format is '" + *fmt + "', expected 'tfc-calib-stats'");
  auto version = root->getInteger("version");
  if (!version)
    return fail("missing key 'version'");
  if (*version != kStatsVersion)
    return fail("version " + llvm::Twine(*version) +
                " is not supported (this tfc reads version " +
                llvm::Twine(kStatsVersion) + ")");
  if (auto m = root->getString("model"))
    model = m->str();
  if (auto s = root->getInteger("samples"))
    samples = *s;
  const json::Array *tensors = root->getArray("tensors");
  if (!tensors)
    return fail("missing key 'tensors' (an array)");
  // The sidecar, when any tensor refers to it.
  std::string side;
  if (auto s = root->getString("sidecar"))
    side = s->str();
  int64_t sideSize = 0;
  auto openSidecar = [&]() -> bool {
    if (sidecar)
      return true;
    if (side.empty())
      return fail("missing key 'sidecar' (arrays are referenced)");
    llvm::SmallString<256> sp(llvm::sys::path::parent_path(path));
    llvm::sys::path::append(sp, side);
    auto b = llvm::MemoryBuffer::getFile(sp, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false,
                                         /*IsVolatile=*/false, llvm::Align(64));
    if (!b)
      return fail("cannot read the sidecar '" + sp + "': " +
                  b.getError().message());
    llvm::StringRef data = (*b)->getBuffer();
    if (data.size() < kHeaderBytes || std::memcmp(data.data(), kMagic, 8))
      return fail("sidecar '" + sp + "' does not start with TFCCALB1");
    uint32_t v;
    std::memcpy(&v, data.data() + 8, 4);
    if (v != kStatsVersion)
      return fail("sidecar '" + sp + "' has version " + llvm::Twine(v) +
                  ", expected " + llvm::Twine(kStatsVersion));
    uint64_t size;
    std::memcpy(&size, data.data() + 16, 8);
    if (size != data.size())
      return fail("sidecar '" + sp + "' is " + llvm::Twine(data.size()) +
                  " bytes, its header says " + llvm::Twine(size) +
                  " (truncated?)");
    sideSize = static_cast<int64_t>(data.size());
    sidecar = std::move(*b);
    return true;
  };
  records.clear();
  byOp.clear();
  for (size_t i = 0; i < tensors->size(); ++i) {
    const json::Object *o = (*tensors)[i].getAsObject();
    std::string where = "tensors[" + std::to_string(i) + "]";
    if (!o)
      return fail(where + ": must be an object");
    TensorRecord r;
    if (auto n = o->getString("name"))
      r.name = n->str();
    else
      return fail(where + ": missing key 'name'");
    where += " ('" + r.name + "')";
    auto need = [&](llvm::StringRef key) -> const json::Value * {
      const json::Value *v = o->get(key);
      if (!v)
        fail(where + ": missing key '" + key + "'");
      return v;
    };
    const json::Value *v;
    if (!(v = need("ops")))
      return false;
    const json::Array *ops = v->getAsArray();
    if (!ops || ops->empty())
      return fail(where + ": 'ops' must be a non-empty array of op names");
    for (const json::Value &op : *ops) {
      auto s = op.getAsString();
      if (!s)
        return fail(where + ": 'ops' must hold strings");
      r.ops.push_back(s->str());
    }
    if (!(v = need("k")))
      return false;
    auto k = v->getAsInteger();
    if (!k || *k <= 0)
      return fail(where + ": 'k' must be a positive integer");
    r.k = *k;
    if (!(v = need("rows")))
      return false;
    auto rows = v->getAsInteger();
    if (!rows || *rows < 0)
      return fail(where + ": 'rows' must be a non-negative integer");
    r.rows = *rows;
    for (const char *key : {"min", "max"}) {
      if (!(v = need(key)))
        return false;
      auto d = v->getAsNumber();
      if (!d)
        return fail(where + ": '" + key + "' must be a number");
      (key[1] == 'i' ? r.min : r.max) = *d;
    }
    if (!(v = need("clip")))
      return false;
    const json::Object *clip = v->getAsObject();
    if (!clip)
      return fail(where + ": 'clip' must be an object");
    for (const std::string &m : clipMethods()) {
      const json::Value *c = clip->get(m);
      if (!c)
        return fail(where + ": missing key 'clip." + m + "'");
      auto d = c->getAsNumber();
      if (!d || !(*d >= 0))
        return fail(where + ": 'clip." + m + "' must be a number >= 0");
      r.clip[m] = *d;
    }
    // Arrays in the sidecar: {"offset": bytes, "shape": [...]}.
    auto array = [&](llvm::StringRef key, std::vector<int64_t> shape,
                     int64_t &offset) -> bool {
      const json::Value *a = o->get(key);
      if (!a)
        return true;
      const json::Object *ao = a->getAsObject();
      std::string w = where + ": '" + key.str() + "'";
      if (!ao)
        return fail(w + " must be an object {offset, shape}");
      auto off = ao->getInteger("offset");
      if (!off || *off < kHeaderBytes || *off % 8)
        return fail(w + ": 'offset' must be a multiple of 8 past the header");
      const json::Array *sh = ao->getArray("shape");
      std::vector<int64_t> got;
      if (sh)
        for (const json::Value &d : *sh)
          got.push_back(d.getAsInteger().value_or(-1));
      if (got != shape) {
        std::string want = "[", have = "[";
        for (size_t j = 0; j < shape.size(); ++j)
          want += (j ? ", " : "") + std::to_string(shape[j]);
        for (size_t j = 0; j < got.size(); ++j)
          have += (j ? ", " : "") + std::to_string(got[j]);
        return fail(w + ": shape " + have + "] does not match k = " +
                    llvm::Twine(r.k) + " (expected " + want + "])");
      }
      if (!openSidecar())
        return false;
      int64_t bytes = 8;
      for (int64_t d : shape)
        bytes *= d;
      if (*off + bytes > sideSize)
        return fail(w + ": bytes [" + llvm::Twine(*off) + ", " +
                    llvm::Twine(*off + bytes) + ") lie past the end of the " +
                    llvm::Twine(sideSize) + "-byte sidecar");
      offset = *off;
      return true;
    };
    if (!array("channel_sq_norms", {r.k}, r.normsOffset) ||
        !array("hessian", {r.k, r.k}, r.hessianOffset))
      return false;
    for (const std::string &op : r.ops)
      if (!byOp.emplace(op, records.size()).second)
        return fail(where + ": op '" + op + "' is listed by two tensors");
    records.push_back(std::move(r));
  }
  return true;
}

//===- WeightsInfo.cpp - weights bytes and precision per op class ---------===//

#include "WeightsInfo.h"

#include "Linear/Pack.h"
#include "WeightsFile.h"
#include "tfc/Support/PackedWeights.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace tfcrun {

std::string packedPrecision(uint32_t format, int64_t group, uint32_t flags) {
  switch (format) {
  case TFC_PACK_S8:
    return (flags & TFC_PACK_FLAG_ACT_STATIC) ? "int8 x int8 static"
                                              : "int8 x int8 dynamic";
  case TFC_PACK_W8:
  case TFC_PACK_W4: {
    std::string s = format == TFC_PACK_W8 ? "w8" : "w4";
    s += group ? " g" + std::to_string(group) : std::string(" per-channel");
    s += (flags & TFC_PACK_FLAG_ASYM) ? " asym" : " sym";
    if (flags & TFC_PACK_FLAG_ACT_F32)
      s += " act=f32";
    return s;
  }
  case TFC_PACK_SPARSE_MASK_W8: {
    std::string s = "sparse-mask-w8";
    s += group ? " g" + std::to_string(group) : std::string(" per-channel");
    s += " sym";
    if (flags & TFC_PACK_FLAG_ACT_F32)
      s += " act=f32";
    return s;
  }
  default:
    return tfcrt::pack::formatName(format);
  }
}

bool weightsByClass(const std::string &path,
                    std::vector<WeightsClassRow> &rows, std::string &error) {
  rows.clear();
  tfcrt::WeightsFile file;
  if (file.open(path, false, 0, 0, error) != TFC_OK)
    return false;
  const unsigned char *data =
      static_cast<const unsigned char *>(file.data());
  std::map<std::pair<std::string, std::string>, WeightsClassRow> acc;
  std::set<uint64_t> seen;
  for (const tfcrt::WeightsEntry &e : file.entries()) {
    if (!seen.insert(e.offset).second)
      continue; // one tensor under several names (both entries)
    std::string cls = "unpacked";
    std::string prec = tfc_dtype_name(static_cast<tfc_dtype>(e.dtype));
    tfc_pack_header h;
    std::string err;
    if (e.dtype == TFC_DTYPE_I8 && e.nbytes >= sizeof(h) &&
        e.offset + e.nbytes <= file.dataSize() &&
        tfcrt::pack::validate(data + e.offset, e.nbytes, err)) {
      std::memcpy(&h, data + e.offset, sizeof(h));
      char name[sizeof(h.op_class) + 1] = {};
      std::memcpy(name, h.op_class, sizeof(h.op_class));
      cls = name[0] ? name : "linear";
      prec = packedPrecision(h.format, h.group, h.flags);
    }
    WeightsClassRow &r = acc[{cls, prec}];
    r.opClass = cls;
    r.precision = prec;
    ++r.tensors;
    r.bytes += e.nbytes;
  }
  for (auto &kv : acc)
    rows.push_back(kv.second);
  std::sort(rows.begin(), rows.end(),
            [](const WeightsClassRow &a, const WeightsClassRow &b) {
              if (a.bytes != b.bytes)
                return a.bytes > b.bytes;
              return a.opClass + a.precision < b.opClass + b.precision;
            });
  return true;
}

} // namespace tfcrun

//===- Profile.cpp - tfc-run --profile tables and JSON --------------------===//
//
// The op-class totals (tfc_profile_get) and the per-site times
// (tfc_profile_sites_get: one kernel call site of the compiled code with the
// tfc ops and ONNX nodes it was lowered from), as text or as members of
// tfc-run's JSON object. scripts/report.py reads the JSON.
//
//===----------------------------------------------------------------------===//

#include "Profile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace tfcrun {

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    switch (c) {
    case '"':
      o += "\\\"";
      break;
    case '\\':
      o += "\\\\";
      break;
    case '\n':
      o += "\\n";
      break;
    case '\t':
      o += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        o += buf;
      } else {
        o += c;
      }
    }
  }
  return o;
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

ProfileData collectProfile(const tfc_model *model, int runs) {
  ProfileData p;
  p.runs = std::max(runs, 1);
  p.classes.resize(tfc_profile_get(model, nullptr, 0));
  tfc_profile_get(model, p.classes.data(), p.classes.size());
  std::sort(p.classes.begin(), p.classes.end(),
            [](const tfc_profile_entry &a, const tfc_profile_entry &b) {
              return a.total_ms > b.total_ms;
            });
  std::vector<tfc_profile_site> sites(tfc_profile_sites_get(model, nullptr, 0));
  tfc_profile_sites_get(model, sites.data(), sites.size());
  p.siteIds.resize(sites.size());
  std::iota(p.siteIds.begin(), p.siteIds.end(), size_t(0));
  std::stable_sort(p.siteIds.begin(), p.siteIds.end(),
                   [&](size_t a, size_t b) {
                     return sites[a].total_ms > sites[b].total_ms;
                   });
  for (size_t id : p.siteIds)
    p.sites.push_back(sites[id]);
  return p;
}

namespace {
/// "a, b, c" from newline-separated names; at most `max` names.
std::string nodeList(const char *nodes, size_t max) {
  std::string out, cur;
  size_t n = 0, total = 0;
  for (const char *c = nodes;; ++c) {
    if (*c == '\n' || *c == '\0') {
      if (!cur.empty()) {
        ++total;
        if (n < max) {
          out += (n ? ", " : "") + cur;
          ++n;
        }
      }
      cur.clear();
      if (!*c)
        break;
    } else {
      cur += *c;
    }
  }
  if (total > n)
    out += " (+" + std::to_string(total - n) + ")";
  return out;
}
} // namespace

void printProfileText(const ProfileData &p, size_t topSites) {
  if (p.classes.empty()) {
    std::printf("profile: the model has no op classes (compile it with "
                "--profile)\n");
    return;
  }
  double total = 0;
  for (const auto &e : p.classes)
    total += e.total_ms;
  std::printf("profile over %d run(s): %-24s %10s %12s %8s\n", p.runs,
              "op class", "calls/run", "ms/run", "%");
  for (const auto &e : p.classes)
    std::printf("  %-40s %10.1f %12.4f %7.1f%%\n", e.op_class,
                static_cast<double>(e.calls) / p.runs, e.total_ms / p.runs,
                total > 0 ? 100.0 * e.total_ms / total : 0.0);
  size_t n = std::min(topSites, p.sites.size());
  std::printf("slowest %zu of %zu kernel sites:%26s %12s %8s  ONNX nodes\n", n,
              p.sites.size(), "op class", "ms/run", "%");
  for (size_t i = 0; i < n; ++i) {
    const tfc_profile_site &s = p.sites[i];
    std::printf("  #%-4zu %-45s %12.4f %7.1f%%  %s\n", p.siteIds[i],
                s.op_class, s.total_ms / p.runs,
                total > 0 ? 100.0 * s.total_ms / total : 0.0,
                nodeList(s.onnx_nodes, 4).c_str());
  }
}

std::string profileJson(const ProfileData &p) {
  auto str = [](const std::string &s) { return "\"" + jsonEscape(s) + "\""; };
  std::string j = "\"profile_runs\": " + std::to_string(p.runs) +
                  ", \"profile\": [";
  for (size_t i = 0; i < p.classes.size(); ++i) {
    const auto &e = p.classes[i];
    j += std::string(i ? ", " : "") + "{\"op_class\": " + str(e.op_class) +
         ", \"calls_per_run\": " +
         jsonNumber(static_cast<double>(e.calls) / p.runs) +
         ", \"ms_per_run\": " + jsonNumber(e.total_ms / p.runs) + "}";
  }
  j += "], \"sites\": [";
  for (size_t i = 0; i < p.sites.size(); ++i) {
    const tfc_profile_site &s = p.sites[i];
    std::string nodes = "[";
    std::string cur;
    bool first = true;
    for (const char *c = s.onnx_nodes;; ++c) {
      if (*c == '\n' || *c == '\0') {
        if (!cur.empty()) {
          nodes += (first ? "" : ", ") + str(cur);
          first = false;
        }
        cur.clear();
        if (!*c)
          break;
      } else {
        cur += *c;
      }
    }
    j += std::string(i ? ", " : "") + "{\"id\": " +
         std::to_string(p.siteIds[i]) + ", \"op_class\": " + str(s.op_class) +
         ", \"tfc_ops\": " + str(s.tfc_ops) + ", \"onnx_nodes\": " + nodes +
         "], \"calls_per_run\": " +
         jsonNumber(static_cast<double>(s.calls) / p.runs) +
         ", \"ms_per_run\": " + jsonNumber(s.total_ms / p.runs) + "}";
  }
  return j + "]";
}

bool writeTraceFile(const tfc_model *model, const std::string &path,
                    const std::string &what) {
  tfc_trace_stop();
  if (tfc_trace_write(path.c_str()) != TFC_OK)
    return false;
  uint64_t recorded = 0, dropped = 0;
  tfc_trace_counts(&recorded, &dropped);
  std::fprintf(
      stderr, "tfc-run: trace of %s: %llu events%s written to '%s'%s\n",
      what.c_str(), (unsigned long long)recorded,
      dropped ? (" (" + std::to_string(dropped) + " dropped)").c_str() : "",
      path.c_str(),
      tfc_profile_get(model, nullptr, 0)
          ? ""
          : "; the model has no profiling sites, so only runs and "
            "memory (compile it with --profile for kernels)");
  return true;
}

} // namespace tfcrun

//===- Profile.h - tfc-run's profile report and JSON helpers ----*- C++ -*-===//
#ifndef TFC_TOOLS_TFC_RUN_PROFILE_H
#define TFC_TOOLS_TFC_RUN_PROFILE_H

#include "tfc/Runtime/tfc_runtime.h"

#include <string>
#include <vector>

namespace tfcrun {

/// JSON string contents (no quotes) and numbers (null when not finite).
std::string jsonEscape(const std::string &s);
std::string jsonNumber(double v);

/// --profile: the runtime's per-op-class and per-site counters over `runs`
/// runs, sorted by time (largest first).
struct ProfileData {
  std::vector<tfc_profile_entry> classes;
  std::vector<tfc_profile_site> sites;
  std::vector<size_t> siteIds; // the runtime's id of sites[i]
  int runs = 1;
};
ProfileData collectProfile(const tfc_model *model, int runs);

/// The text tables: op classes, then the `topSites` slowest sites with the
/// ONNX nodes they came from.
void printProfileText(const ProfileData &p, size_t topSites = 15);

/// `"profile": [...], "sites": [...]` (JSON object members, no braces).
std::string profileJson(const ProfileData &p);

/// --trace: stops the trace, writes it to `path` and prints "tfc-run: trace
/// of WHAT: N events written to 'path'" on stderr (with the dropped events,
/// and a hint when the model has no profiling sites). False (the runtime's
/// error in tfc_last_error()) when the file cannot be written.
bool writeTraceFile(const tfc_model *model, const std::string &path,
                    const std::string &what);

} // namespace tfcrun

#endif // TFC_TOOLS_TFC_RUN_PROFILE_H

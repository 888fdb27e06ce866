//===- FuzzReplay.cpp - replay a corpus through a fuzz target -------------===//
//
//   tfc-fuzz-replay-<target> [-v] FILE_OR_DIR...
//
// Runs every file (directories: every file inside, sorted) through the
// target once, without libFuzzer. File names carry the expectation:
//   ok-*    must be accepted;
//   bad-*   must be refused with a message (a clear error, never a crash);
//   others  (crash-*, regression inputs) must only not crash.
// Exit 1 when an expectation fails; a crash ends the process as it would.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include <algorithm>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <vector>

namespace {
void collect(const std::string &path, std::vector<std::string> &out) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    out.push_back(path); // reported as unreadable below
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    out.push_back(path);
    return;
  }
  std::vector<std::string> names;
  if (DIR *d = opendir(path.c_str())) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const std::string &n : names)
    collect(path + "/" + n, out);
}
} // namespace

int main(int argc, char **argv) {
  bool verbose = false;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v")
      verbose = true;
    else
      collect(a, files);
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s [-v] FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  int failures = 0, accepted = 0, refused = 0;
  for (const std::string &f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot read\n", f.c_str());
      ++failures;
      continue;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    std::string error;
    bool ok = tfcFuzzOne(bytes.data(), bytes.size(), error);
    ok ? ++accepted : ++refused;
    std::string base = f.substr(f.find_last_of('/') + 1);
    bool wantOk = base.rfind("ok-", 0) == 0;
    bool wantBad = base.rfind("bad-", 0) == 0;
    if (wantOk && !ok) {
      std::fprintf(stderr, "%s: FAIL: refused: %s\n", f.c_str(), error.c_str());
      ++failures;
    } else if (wantBad && (ok || error.empty())) {
      std::fprintf(stderr, "%s: FAIL: %s\n", f.c_str(),
                   ok ? "accepted a malformed input" : "refused without a message");
      ++failures;
    } else if (verbose) {
      std::printf("%s: %s%s\n", base.c_str(), ok ? "accepted" : "refused: ",
                  ok ? "" : error.c_str());
    }
  }
  std::printf("%zu inputs: %d accepted, %d refused, %d unexpected\n",
              files.size(), accepted, refused, failures);
  return failures ? 1 : 0;
}

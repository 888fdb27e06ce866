//===- QuantRecipe.cpp - presets and JSON recipes for --tfc-quantize ------===//
#include "QuantRecipe.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::quant;

namespace {

const OpClass kAllClasses[] = {OpClass::Embedding, OpClass::Qkv,
                               OpClass::Attention, OpClass::OutProj,
                               OpClass::Mlp,       OpClass::LmHead};

Choice use(Scheme s) {
  Choice c;
  c.skip = false;
  c.scheme = s;
  return c;
}

Scheme scheme(int64_t bits, int64_t group, bool sym, QuantActivation act) {
  Scheme s;
  s.bits = bits;
  s.group = group;
  s.symmetric = sym;
  s.activations = act;
  return s;
}

std::optional<QuantActivation> actFromName(llvm::StringRef n) {
  return symbolizeQuantActivation(n);
}

/// Reads the scheme fields of `obj` into `s`; `where` names the object.
bool readScheme(const llvm::json::Object &obj, const std::string &where,
                Scheme &s, LayerRule *rule, bool allowMatch,
                std::string &error) {
  for (const auto &kv : obj) {
    llvm::StringRef key = kv.first;
    const llvm::json::Value &v = kv.second;
    auto bad = [&](const char *what) {
      error = "recipe " + where + "." + key.str() + ": " + what;
      return false;
    };
    if (key == "bits") {
      auto n = v.getAsInteger();
      if (!n || (*n != 4 && *n != 8 && *n != 16))
        return bad("must be 4, 8 or 16");
      s.bits = *n;
      if (rule)
        rule->bits = *n;
    } else if (key == "group") {
      auto n = v.getAsInteger();
      if (!n || (*n != 0 && *n != 32 && *n != 64 && *n != 128))
        return bad("must be 0 (per output channel), 32, 64 or 128");
      s.group = *n;
      if (rule)
        rule->group = *n;
    } else if (key == "symmetric") {
      auto b = v.getAsBoolean();
      if (!b)
        return bad("must be true or false");
      s.symmetric = *b;
      if (rule)
        rule->symmetric = *b;
    } else if (key == "activations") {
      auto str = v.getAsString();
      std::optional<QuantActivation> a =
          str ? actFromName(*str) : std::nullopt;
      if (!a)
        return bad("must be one of none, block32, row, tensor, static");
      s.activations = *a;
      if (rule)
        rule->activations = *a;
    } else if (key == "type") {
      auto str = v.getAsString();
      if (!str || (*str != "bf16" && *str != "fp16"))
        return bad("must be \"bf16\" or \"fp16\"");
      s.floatType = str->str();
      s.bits = 16;
    } else if (key == "skip" && rule) {
      auto b = v.getAsBoolean();
      if (!b)
        return bad("must be true or false");
      rule->skip = *b;
    } else if (key == "match" && allowMatch) {
      auto str = v.getAsString();
      if (!str || str->empty())
        return bad("must be a non-empty glob");
      rule->match = str->str();
    } else {
      error = "recipe " + where + ": unknown key '" + key.str() + "'";
      return false;
    }
  }
  if (s.isFloat() && s.bits != 16) {
    error = "recipe " + where + ": \"type\": \"" + s.floatType +
            "\" goes with bits 16";
    return false;
  }
  return true;
}

std::optional<Recipe> parseJson(llvm::StringRef path, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    error = "cannot read recipe file '" + path.str() + "': " +
            buf.getError().message();
    return std::nullopt;
  }
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse((*buf)->getBuffer());
  if (!parsed) {
    error = "recipe '" + path.str() + "' is not valid JSON: " +
            llvm::toString(parsed.takeError());
    return std::nullopt;
  }
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root) {
    error = "recipe '" + path.str() + "': the top level must be an object";
    return std::nullopt;
  }
  Recipe r;
  r.name = path.str();
  for (const auto &kv : *root) {
    llvm::StringRef key = kv.first;
    if (key == "method") {
      auto m = kv.second.getAsString();
      if (!m || (*m != "rtn" && *m != "gptq")) {
        error = "recipe method: must be \"rtn\" or \"gptq\"";
        return std::nullopt;
      }
      r.method = m->str();
    } else if (key == "clip") {
      auto c = kv.second.getAsString();
      std::optional<Clip> clip = c ? clipFromName(c->str()) : std::nullopt;
      if (!clip) {
        error = "recipe clip: must be \"minmax\", \"mse\" or \"hmse\"";
        return std::nullopt;
      }
      r.clip = *clip;
    } else if (key == "classes") {
      const llvm::json::Object *cls = kv.second.getAsObject();
      if (!cls) {
        error = "recipe classes: must be an object";
        return std::nullopt;
      }
      for (const auto &ckv : *cls) {
        std::optional<OpClass> c = classFromName(ckv.first);
        if (!c) {
          error = "recipe classes: unknown op class '" + ckv.first.str() +
                  "' (expected embedding, qkv, attention, out_proj, mlp, "
                  "lm_head)";
          return std::nullopt;
        }
        if (auto str = ckv.second.getAsString()) {
          if (*str != "skip" && *str != "fp32") {
            error = "recipe classes." + ckv.first.str() +
                    ": a string must be \"skip\" (or \"fp32\")";
            return std::nullopt;
          }
          r.classes[*c] = Choice();
          continue;
        }
        const llvm::json::Object *o = ckv.second.getAsObject();
        if (!o) {
          error = "recipe classes." + ckv.first.str() +
                  ": must be an object or \"skip\"";
          return std::nullopt;
        }
        Scheme s;
        if (!readScheme(*o, "classes." + ckv.first.str(), s, nullptr, false,
                        error))
          return std::nullopt;
        r.classes[*c] = use(s);
      }
    } else if (key == "layers") {
      const llvm::json::Array *arr = kv.second.getAsArray();
      if (!arr) {
        error = "recipe layers: must be an array of objects";
        return std::nullopt;
      }
      for (size_t i = 0; i < arr->size(); ++i) {
        const llvm::json::Object *o = (*arr)[i].getAsObject();
        std::string where = "layers[" + std::to_string(i) + "]";
        if (!o) {
          error = "recipe " + where + ": must be an object";
          return std::nullopt;
        }
        LayerRule rule;
        Scheme ignored;
        if (!readScheme(*o, where, ignored, &rule, true, error))
          return std::nullopt;
        if (rule.match.empty()) {
          error = "recipe " + where + ": needs \"match\" (a glob)";
          return std::nullopt;
        }
        r.layers.push_back(rule);
      }
    } else if (key == "skip") {
      const llvm::json::Array *arr = kv.second.getAsArray();
      if (!arr) {
        error = "recipe skip: must be an array of globs";
        return std::nullopt;
      }
      for (const llvm::json::Value &v : *arr) {
        auto str = v.getAsString();
        if (!str) {
          error = "recipe skip: every entry must be a string (a glob)";
          return std::nullopt;
        }
        r.skip.push_back(str->str());
      }
    } else {
      error = "recipe '" + path.str() + "': unknown key '" + key.str() +
              "' (expected method, clip, classes, layers, skip)";
      return std::nullopt;
    }
  }
  return r;
}

} // namespace

const char *mlir::tfc::quant::className(OpClass c) {
  switch (c) {
  case OpClass::Embedding:
    return "embedding";
  case OpClass::Qkv:
    return "qkv";
  case OpClass::Attention:
    return "attention";
  case OpClass::OutProj:
    return "out_proj";
  case OpClass::Mlp:
    return "mlp";
  case OpClass::LmHead:
    return "lm_head";
  }
  return "?";
}

std::optional<OpClass> mlir::tfc::quant::classFromName(llvm::StringRef name) {
  for (OpClass c : kAllClasses)
    if (name == className(c))
      return c;
  return std::nullopt;
}

std::string Scheme::describe() const {
  if (isFloat())
    return floatType;
  std::string s = "w" + std::to_string(bits);
  s += group ? " g" + std::to_string(group) : " per-channel";
  s += symmetric ? " sym" : " asym";
  s += std::string(" act=") + stringifyQuantActivation(activations).str();
  return s;
}

bool Recipe::needsStats() const {
  if (method == "gptq" || clip == Clip::HMse)
    return true;
  for (const auto &kv : classes)
    if (!kv.second.skip &&
        kv.second.scheme.activations == QuantActivation::static_)
      return true;
  for (const LayerRule &l : layers)
    if (l.activations && *l.activations == QuantActivation::static_)
      return true;
  return false;
}

Choice Recipe::choose(OpClass cls, llvm::StringRef opName) const {
  Choice c;
  auto it = classes.find(cls);
  if (it != classes.end())
    c = it->second;
  for (const LayerRule &l : layers) {
    if (!globMatch(l.match, opName))
      continue;
    if (l.skip) {
      c.skip = true;
      continue;
    }
    if (c.skip) {
      c.skip = false;
      c.scheme = Scheme();
    }
    if (l.bits)
      c.scheme.bits = *l.bits;
    if (l.group)
      c.scheme.group = *l.group;
    if (l.symmetric)
      c.scheme.symmetric = *l.symmetric;
    if (l.activations)
      c.scheme.activations = *l.activations;
  }
  for (const std::string &g : skip)
    if (globMatch(g, opName))
      c.skip = true;
  return c;
}

std::optional<std::string> mlir::tfc::quant::cannotTake(OpClass cls,
                                                         const Scheme &s) {
  using A = QuantActivation;
  bool intAct = s.activations == A::row || s.activations == A::tensor ||
                s.activations == A::static_;
  if (s.isFloat()) {
    if (cls == OpClass::Embedding)
      return std::string("a bf16/fp16 embedding table is not supported "
                         "(keep it fp32 or quantize it to 8 bits)");
    return std::nullopt;
  }
  if (cls == OpClass::Embedding) {
    if (s.activations != A::none)
      return std::string("an embedding has no activations to quantize "
                         "(activations must be none)");
    return std::nullopt;
  }
  if (cls == OpClass::Attention) {
    if (s.bits != 8 || s.group != 0 || !s.symmetric)
      return std::string("the attention products take 8-bit symmetric "
                         "per-row quantization only (bits 8, group 0, "
                         "symmetric)");
    return std::nullopt;
  }
  if (intAct && s.bits != 8)
    return "int8 x int8 activations (" +
           stringifyQuantActivation(s.activations).str() +
           ") need 8-bit weights; 4-bit weights are weight-only "
           "(activations none or block32)";
  if (intAct && s.group != 0)
    return std::string("int8 x int8 activations need per-channel weight "
                       "scales (group 0)");
  if (intAct && !s.symmetric)
    return std::string("int8 x int8 activations need symmetric weights");
  return std::nullopt;
}

bool mlir::tfc::quant::globMatch(llvm::StringRef p, llvm::StringRef t) {
  // Iterative wildcard matching with backtracking to the last '*'.
  size_t pi = 0, ti = 0, star = llvm::StringRef::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != llvm::StringRef::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  return pi == p.size();
}

std::optional<Recipe> mlir::tfc::quant::loadRecipe(
    llvm::StringRef spec, int64_t group, std::optional<bool> symmetric,
    std::string &error) {
  using A = QuantActivation;
  if (group != -1 && group != 0 && group != 32 && group != 64 &&
      group != 128) {
    error = "--quant-group=" + std::to_string(group) +
            ": must be 32, 64 or 128 (or 0: one scale per output channel)";
    return std::nullopt;
  }
  Recipe r;
  r.name = spec.str();
  auto linears = [&](Scheme s) {
    for (OpClass c : {OpClass::Qkv, OpClass::OutProj, OpClass::Mlp,
                      OpClass::LmHead})
      r.classes[c] = use(s);
  };
  int64_t g = group;
  if (spec == "int8-dynamic") {
    if (g > 0 || (symmetric && !*symmetric)) {
      error = "--quantize=int8-dynamic uses symmetric per-channel weights: "
              "no --quant-group / --quant-asym";
      return std::nullopt;
    }
    linears(scheme(8, 0, true, A::row));
  } else if (spec == "int8-static") {
    if (g > 0 || (symmetric && !*symmetric)) {
      error = "--quantize=int8-static uses symmetric per-channel weights: "
              "no --quant-group / --quant-asym";
      return std::nullopt;
    }
    linears(scheme(8, 0, true, A::static_));
  } else if (spec == "w8") {
    linears(scheme(8, g == -1 ? 0 : g, symmetric.value_or(true), A::block32));
  } else if (spec == "w4") {
    linears(scheme(4, g == -1 ? 128 : g, symmetric.value_or(false),
                   A::block32));
  } else if (spec == "mixed") {
    // The source article's recipe: embeddings 8-bit symmetric, linear
    // layers 4-bit asymmetric, attention 8-bit symmetric.
    r.classes[OpClass::Embedding] = use(scheme(8, 0, true, A::none));
    linears(scheme(4, g == -1 ? 128 : g, symmetric.value_or(false),
                   A::block32));
    r.classes[OpClass::Attention] = use(scheme(8, 0, true, A::row));
  } else if (spec == "bf16" || spec == "fp16") {
    Scheme s;
    s.bits = 16;
    s.floatType = spec.str();
    linears(s);
  } else if (spec.ends_with(".json")) {
    std::optional<Recipe> j = parseJson(spec, error);
    if (!j)
      return std::nullopt;
    if (group != -1 || symmetric) {
      error = "--quant-group / --quant-sym / --quant-asym do not apply to a "
              "JSON recipe: set \"group\" / \"symmetric\" in it";
      return std::nullopt;
    }
    return j;
  } else {
    error = "unknown --quantize recipe '" + spec.str() +
            "' (presets: int8-dynamic, int8-static, w8, w4, mixed, bf16, "
            "fp16; or a .json recipe file)";
    return std::nullopt;
  }
  return r;
}

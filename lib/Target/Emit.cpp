//===- Emit.cpp - object, header and model descriptor emission ------------===//
#include "tfc/Target/Emit.h"
#include "tfc/Runtime/tfc_runtime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <fstream>
#include <sstream>

using namespace mlir;
using namespace mlir::tfc;

/// Functions marked `marker`, at the index of their `tfc.part` (0 without).
static SmallVector<func::FuncOp> collectByPart(ModuleOp module,
                                               StringRef marker) {
  SmallVector<func::FuncOp> byPart;
  bool bad = false;
  module.walk([&](func::FuncOp f) {
    if (!f->hasAttr(marker))
      return;
    int64_t k = 0;
    if (auto a = f->getAttrOfType<IntegerAttr>("tfc.part"))
      k = a.getInt();
    if (k < 0 || k > 4096) {
      bad = true;
      return;
    }
    if ((int64_t)byPart.size() <= k)
      byPart.resize(k + 1);
    if (byPart[k])
      bad = true;
    byPart[k] = f;
  });
  if (bad || llvm::any_of(byPart, [](func::FuncOp f) { return !f; }))
    return {};
  return byPart;
}

SmallVector<func::FuncOp> mlir::tfc::findEntries(ModuleOp module) {
  return collectByPart(module, "tfc.entry");
}

SmallVector<func::FuncOp> mlir::tfc::findStepEntries(ModuleOp module) {
  return collectByPart(module, "tfc.step_entry");
}

func::FuncOp mlir::tfc::findEntry(ModuleOp module) {
  SmallVector<func::FuncOp> all = findEntries(module);
  return all.empty() ? func::FuncOp() : all.front();
}

func::FuncOp mlir::tfc::findStepEntry(ModuleOp module) {
  SmallVector<func::FuncOp> all = findStepEntries(module);
  return all.empty() ? func::FuncOp() : all.front();
}

std::pair<uint32_t, uint32_t> mlir::tfc::partitionOf(ModuleOp module) {
  auto d = module->getAttrOfType<DictionaryAttr>("tfc.partition");
  if (!d)
    return {0, 0};
  auto kind = d.getAs<StringAttr>("kind");
  auto parts = d.getAs<IntegerAttr>("parts");
  if (!kind || !parts || parts.getInt() <= 0)
    return {0, 0};
  uint32_t k = kind.getValue() == "pipeline" ? TFC_PARTITION_PIPELINE
               : kind.getValue() == "tensor" ? TFC_PARTITION_TENSOR
                                             : 0;
  return {k, k ? (uint32_t)parts.getInt() : 0};
}

static std::string dtypeName(Type t) {
  if (t.isF32()) return "f32";
  if (t.isF16()) return "f16";
  if (t.isBF16()) return "bf16";
  if (t.isF64()) return "f64";
  if (t.isInteger(64)) return "i64";
  if (t.isInteger(32)) return "i32";
  if (t.isInteger(8)) return "i8";
  if (t.isInteger(1)) return "bool";
  return "";
}

FailureOr<std::string> mlir::tfc::collectSignature(func::FuncOp entry) {
  std::ostringstream os;
  auto line = [&](const char *dir, Type type, DictionaryAttr attrs,
                  unsigned idx) -> LogicalResult {
    // Tensors, and memrefs for buffers the caller owns (the KV cache).
    auto t = dyn_cast<ShapedType>(type);
    if (!t || !isa<RankedTensorType, MemRefType>(type))
      return entry.emitError("entry ") << dir << " #" << idx
                                       << " is not a ranked tensor";
    std::string dt = dtypeName(t.getElementType());
    if (dt.empty())
      return entry.emitError("entry ") << dir << " #" << idx
                                       << " has an unsupported element type";
    auto name = attrs ? attrs.getAs<StringAttr>("tfc.name") : StringAttr();
    auto dims = attrs ? attrs.getAs<ArrayAttr>("tfc.dims") : ArrayAttr();
    os << dir << " " << (name ? name.str() : std::string(dir) + std::to_string(idx))
       << " " << dt << " " << t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i) {
      if (!t.isDynamicDim(i))
        os << " " << t.getDimSize(i);
      else if (dims && i < (int64_t)dims.size())
        os << " " << cast<StringAttr>(dims[i]).str();
      else
        os << " " << dir << idx << "_d" << i;
    }
    os << "\n";
    return success();
  };
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    if (failed(line("in", entry.getArgumentTypes()[i], entry.getArgAttrDict(i),
                    i)))
      return failure();
  for (unsigned i = 0; i < entry.getNumResults(); ++i)
    if (failed(line("out", entry.getResultTypes()[i],
                    entry.getResultAttrDict(i), i)))
      return failure();
  return os.str();
}

LogicalResult mlir::tfc::addModelDesc(ModuleOp m, const ModelDescInfo &info) {
  MLIRContext *ctx = m.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(m.getBody());
  Location loc = m.getLoc();
  auto i8 = IntegerType::get(ctx, 8), i32 = IntegerType::get(ctx, 32),
       i64 = IntegerType::get(ctx, 64);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  if (!m.lookupSymbol(info.entrySymbol))
    return m.emitError("entry symbol '") << info.entrySymbol << "' not found";

  auto strGlobal = [&](StringRef sym, StringRef s) {
    std::string z = s.str();
    z.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(i8, z.size());
    LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                           LLVM::Linkage::Private, sym, b.getStringAttr(z));
  };
  std::string pre = "__tfc_" + info.name;
  strGlobal(pre + "_name", info.name);
  strGlobal(pre + "_signature", info.signature);
  strGlobal(pre + "_op_classes", info.opClasses);
  bool hasStep = !info.stepEntrySymbol.empty();
  if (hasStep) {
    if (!m.lookupSymbol(info.stepEntrySymbol))
      return m.emitError("step entry symbol '")
             << info.stepEntrySymbol << "' not found";
    strGlobal(pre + "_step_signature", info.stepSignature);
  }

  bool partitioned = info.partitionKind != 0 && !info.parts.empty();
  bool partSteps = partitioned && !info.parts[0].stepEntrySymbol.empty();
  if (partitioned) {
    // Arrays of part entries and signatures, indexed by part.
    auto arrayGlobal = [&](StringRef sym, ArrayRef<std::string> targets) {
      auto type = LLVM::LLVMArrayType::get(ptr, targets.size());
      auto g = LLVM::GlobalOp::create(b, loc, type, /*isConstant=*/true,
                                      LLVM::Linkage::Private, sym,
                                      Attribute());
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(b.createBlock(&g.getInitializerRegion()));
      Value v = LLVM::UndefOp::create(b, loc, type);
      for (auto [i, t] : llvm::enumerate(targets))
        v = LLVM::InsertValueOp::create(
            b, loc, v, LLVM::AddressOfOp::create(b, loc, ptr, t), (int64_t)i);
      LLVM::ReturnOp::create(b, loc, v);
    };
    std::vector<std::string> entries, sigs, steps, stepSigs;
    for (auto [k, part] : llvm::enumerate(info.parts)) {
      if (!m.lookupSymbol(part.entrySymbol))
        return m.emitError("part entry symbol '") << part.entrySymbol
                                                  << "' not found";
      entries.push_back(part.entrySymbol);
      std::string sig = pre + "_part" + std::to_string(k) + "_signature";
      strGlobal(sig, part.signature);
      sigs.push_back(sig);
      if (partSteps) {
        if (!m.lookupSymbol(part.stepEntrySymbol))
          return m.emitError("part step entry symbol '")
                 << part.stepEntrySymbol << "' not found";
        steps.push_back(part.stepEntrySymbol);
        std::string ss = pre + "_part" + std::to_string(k) + "_step_signature";
        strGlobal(ss, part.stepSignature);
        stepSigs.push_back(ss);
      }
    }
    arrayGlobal(pre + "_part_entries", entries);
    arrayGlobal(pre + "_part_signatures", sigs);
    if (partSteps) {
      arrayGlobal(pre + "_part_step_entries", steps);
      arrayGlobal(pre + "_part_step_signatures", stepSigs);
    }
  }

  unsigned nin = 0, nout = 0;
  for (StringRef l : llvm::split(StringRef(info.signature), '\n')) {
    if (l.starts_with("in "))
      ++nin;
    else if (l.starts_with("out "))
      ++nout;
  }
  // The KV-cache and partition fields are always there (null without a
  // step entry / partition); TFC_MODEL_FLAG_KV_CACHE and
  // TFC_MODEL_FLAG_PARTITIONED say whether they mean anything.
  auto structTy = LLVM::LLVMStructType::getLiteral(
      ctx, {i32, i32, i32, i32, ptr, ptr, ptr, i64, i64, ptr, ptr, ptr, i64,
            i64, i32, i32, ptr, ptr, ptr, ptr, i32, i32});
  uint32_t flags = info.flags | (hasStep ? TFC_MODEL_FLAG_KV_CACHE : 0u) |
                   (partitioned ? TFC_MODEL_FLAG_PARTITIONED : 0u) |
                   TFC_MODEL_FLAG_REQUIREMENTS;
  auto makeDesc = [&](StringRef sym) {
    auto g = LLVM::GlobalOp::create(b, loc, structTy, /*isConstant=*/true,
                                    LLVM::Linkage::External, sym, Attribute());
    OpBuilder::InsertionGuard guard(b);
    Block *blk = b.createBlock(&g.getInitializerRegion());
    b.setInsertionPointToStart(blk);
    Value v = LLVM::UndefOp::create(b, loc, structTy);
    auto c32 = [&](uint32_t x) {
      return LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(x));
    };
    auto c64 = [&](uint64_t x) {
      return LLVM::ConstantOp::create(b, loc, i64,
                                      b.getI64IntegerAttr((int64_t)x));
    };
    auto addr = [&](StringRef s) {
      return LLVM::AddressOfOp::create(b, loc, ptr, s);
    };
    auto addrIf = [&](bool cond, StringRef s) -> Value {
      if (cond)
        return addr(s);
      return LLVM::ZeroOp::create(b, loc, ptr);
    };
    auto addrOrNull = [&](StringRef s) { return addrIf(hasStep, s); };
    Value fields[] = {c32(1u),
                      c32(nin),
                      c32(nout),
                      c32(flags),
                      addr(pre + "_name"),
                      addr(pre + "_signature"),
                      addr(info.entrySymbol),
                      c64(info.weightsSize),
                      c64(info.weightsHash),
                      addr(pre + "_op_classes"),
                      addrOrNull(info.stepEntrySymbol),
                      addrOrNull(pre + "_step_signature"),
                      c64(info.kvMaxLen),
                      c64(info.kvWindow),
                      c32(partitioned ? info.partitionKind : 0u),
                      c32(partitioned ? (uint32_t)info.parts.size() : 0u),
                      addrIf(partitioned, pre + "_part_entries"),
                      addrIf(partitioned, pre + "_part_signatures"),
                      addrIf(partSteps, pre + "_part_step_entries"),
                      addrIf(partSteps, pre + "_part_step_signatures"),
                      c32(info.requiredIsa),
                      c32(info.packVersion)};
    for (auto [i, f] : llvm::enumerate(fields))
      v = LLVM::InsertValueOp::create(b, loc, v, f, (int64_t)i);
    LLVM::ReturnOp::create(b, loc, v);
  };
  makeDesc("tfc_" + info.name + "_desc");
  if (info.exportGenericAlias)
    makeDesc("tfc_model_desc_v1");
  return success();
}

namespace {
/// The LLVM CPU name and feature string of `opts` ("host" resolved).
void resolveCpu(const ObjectOptions &opts, std::string &cpu,
                std::string &features) {
  cpu = opts.cpu;
  features = opts.features;
  if (cpu == "host") {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> hf = llvm::sys::getHostCPUFeatures();
    std::string f;
    for (auto &kv : hf)
      f += (f.empty() ? "" : ",") + std::string(kv.second ? "+" : "-") +
           kv.first().str();
    features = features.empty() ? f : f + "," + features;
  }
}
} // namespace

FailureOr<uint32_t> mlir::tfc::requiredIsaOf(const ObjectOptions &opts,
                                             std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target) {
    error = "no LLVM target for " + triple.str() + ": " + err;
    return failure();
  }
  std::string cpu, features;
  resolveCpu(opts, cpu, features);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, cpu, features));
  if (!sti || (!sti->isCPUStringValid(cpu) && cpu != "generic")) {
    error = "unknown --cpu '" + cpu + "' (try host, x86-64, x86-64-v3, "
            "znver3, znver4)";
    return failure();
  }
  uint32_t bits = 0;
  if (sti->checkFeatures("+avx2") || sti->checkFeatures("+fma"))
    bits |= TFC_ISA_AVX2;
  if (sti->checkFeatures("+avx512f"))
    bits |= TFC_ISA_AVX512;
  return bits;
}

LogicalResult mlir::tfc::emitObject(ModuleOp m, const ObjectOptions &opts,
                                    const std::string &objPath,
                                    std::string *llvmIrOut, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  m.getContext()->appendDialectRegistry(registry);

  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> mod = translateModuleToLLVMIR(m, llvmCtx);
  if (!mod) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target) {
    error = "no LLVM target for " + triple.str() + ": " + err;
    return failure();
  }
  std::string cpu, features;
  resolveCpu(opts, cpu, features);
  llvm::TargetOptions to;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, to, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm) {
    error = "cannot create a target machine for cpu '" + cpu + "'";
    return failure();
  }
  mod->setTargetTriple(triple);
  mod->setDataLayout(tm->createDataLayout());
  // Mark every function with the target CPU so the vectorizer uses it.
  for (llvm::Function &f : *mod) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", cpu);
    if (!features.empty())
      f.addFnAttr("target-features", features);
  }

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    llvm::PassBuilder pb(tm.get(), pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::OptimizationLevel level = opts.optLevel >= 3   ? llvm::OptimizationLevel::O3
                                    : opts.optLevel == 2 ? llvm::OptimizationLevel::O2
                                    : opts.optLevel == 1 ? llvm::OptimizationLevel::O1
                                                         : llvm::OptimizationLevel::O0;
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
    mpm.run(*mod, mam);
  }

  if (llvmIrOut) {
    llvm::raw_string_ostream os(*llvmIrOut);
    mod->print(os, nullptr);
    return success();
  }
  std::error_code ec;
  llvm::raw_fd_ostream out(objPath, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + objPath + "': " + ec.message();
    return failure();
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(*mod);
  out.close();
  if (out.has_error()) {
    error = "error writing '" + objPath + "'";
    return failure();
  }
  return success();
}

LogicalResult mlir::tfc::writeHeader(const ModelDescInfo &info,
                                     const std::string &path,
                                     std::string &error) {
  std::ofstream os(path);
  if (!os) {
    error = "cannot write '" + path + "'";
    return failure();
  }
  std::string guard = "TFC_MODEL_" + info.name + "_H";
  for (char &c : guard)
    c = toupper((unsigned char)c);
  os << "/* Generated by tfc: model '" << info.name << "'. Do not edit. */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include \"tfc_runtime.h\"\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "/* Signature (name dtype rank dims; symbols are dynamic dims):\n";
  for (StringRef l : llvm::split(StringRef(info.signature), '\n'))
    if (!l.empty())
      os << " *   " << l.str() << "\n";
  os << " * Weights: " << info.weightsSize << " bytes, hash 0x" << std::hex
     << info.weightsHash << std::dec << ".\n";
  if (!info.stepEntrySymbol.empty()) {
    os << " * KV-cache step entry (tfc --kv-cache; default max_len "
       << info.kvMaxLen << ", window " << info.kvWindow << "):\n";
    for (StringRef l : llvm::split(StringRef(info.stepSignature), '\n'))
      if (!l.empty())
        os << " *   " << l.str() << "\n";
    os << " * Decode with tfc_session_create(model, batch, max_len, &s), "
          "tfc_session_prefill, tfc_session_decode.\n";
  }
  if (!info.parts.empty() && info.partitionKind != 0) {
    os << " * Partitioned "
       << (info.partitionKind == TFC_PARTITION_PIPELINE ? "pipeline"
                                                        : "tensor")
       << ":" << info.parts.size()
       << ": run it with mpirun -np " << info.parts.size()
       << " after tfc_dist_init(); rank k runs part k.\n";
  }
  os << " * Load with tfc_model_load(&tfc_" << info.name
     << "_desc, \"model.tfcw\", &model), then tfc_model_run(). */\n"
     << "extern const tfc_model_desc tfc_" << info.name << "_desc;\n\n";
  // The entries themselves (MLIR C interface: results, weights, inputs...;
  // tfc_runtime.h), for a reader and for code that calls them directly.
  auto declare = [&](const std::string &sym, const std::string &sig,
                     const char *what) {
    if (sym.empty())
      return;
    os << "/* " << what << ":\n";
    for (StringRef l : llvm::split(StringRef(sig), '\n'))
      if (!l.empty())
        os << " *   " << l.str() << "\n";
    os << " */\nvoid " << sym << "(void *results, void *weights, ...);\n";
  };
  if (info.parts.empty() || info.partitionKind == 0) {
    declare(info.entrySymbol, info.signature, "entry");
    declare(info.stepEntrySymbol, info.stepSignature, "KV-cache step entry");
  } else {
    for (auto [k, part] : llvm::enumerate(info.parts)) {
      std::string n = std::to_string(k);
      declare(part.entrySymbol, part.signature, ("part " + n + " entry").c_str());
      declare(part.stepEntrySymbol, part.stepSignature,
              ("part " + n + " KV-cache step entry").c_str());
    }
  }
  os << "\n"
     << "#ifdef __cplusplus\n}\n#endif\n#endif\n";
  if (!os) {
    error = "error writing '" + path + "'";
    return failure();
  }
  return success();
}

#include "FormatQuant.h"
namespace tfcrt { namespace linear { namespace quant {
const FormatImpl *bf16Avx2() { return nullptr; }
}}}

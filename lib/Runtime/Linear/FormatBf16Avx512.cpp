#include "FormatQuant.h"
namespace tfcrt { namespace linear { namespace quant {
const FormatImpl *bf16Avx512Bf16() { return nullptr; }
}}}

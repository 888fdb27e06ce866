#include "FormatQuant.h"
namespace tfcrt { namespace linear { namespace quant {
const FormatImpl *wAvx512(uint32_t, WStrategy) { return nullptr; }
}}}

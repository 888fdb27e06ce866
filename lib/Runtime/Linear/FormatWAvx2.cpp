#include "FormatQuant.h"
namespace tfcrt { namespace linear { namespace quant {
const FormatImpl *wAvx2(uint32_t, WStrategy) { return nullptr; }
}}}

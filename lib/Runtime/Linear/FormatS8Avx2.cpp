#include "FormatQuant.h"
namespace tfcrt { namespace linear { namespace quant {
const FormatImpl *s8Avx2() { return nullptr; }
}}}

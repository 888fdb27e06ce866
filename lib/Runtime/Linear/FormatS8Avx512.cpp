#include "FormatQuant.h"
namespace tfcrt { namespace linear { namespace quant {
const FormatImpl *s8Avx512Vnni() { return nullptr; }
}}}

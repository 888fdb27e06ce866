/*===- WeightsFormat.h - the .tfcw weights file format ------------*- C -*-===*
 *
 * Shared by the compiler (writer) and libtfcrt (reader). Plain C, header only.
 *
 * Layout (all integers little-endian):
 *   offset 0   char     magic[8] = "TFCWGT01"
 *   offset 8   uint64   header_size   (offset of the data section; multiple
 *                                      of TFCW_ALIGN)
 *   offset 16  uint64   data_size     (bytes of the data section)
 *   offset 24  uint64   data_hash     (tfc_hash64 of the data section)
 *   offset 32  uint32   num_entries
 *   offset 36  uint32   reserved (0)
 *   offset 40  entries, packed, one after the other:
 *                uint64 offset   (relative to the data section, a multiple of
 *                                 TFCW_ALIGN)
 *                uint64 nbytes
 *                uint32 dtype    (tfc_dtype)
 *                uint32 rank
 *                int64  dims[rank]
 *                uint32 name_len
 *                char   name[name_len]   (not NUL-terminated)
 *   zero padding up to header_size
 *   data section: data_size bytes; the file size is header_size + data_size.
 *
 * The compiled code only sees the data section (as memref<?xi8>) and refers
 * to each weight by its offset; the entry table is for tools and checks.
 *===----------------------------------------------------------------------===*/
#ifndef TFC_SUPPORT_WEIGHTSFORMAT_H
#define TFC_SUPPORT_WEIGHTSFORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TFCW_MAGIC "TFCWGT01"
#define TFCW_ALIGN 64u
#define TFCW_FIXED_HEADER_SIZE 40u

static inline uint64_t tfc_rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

/* A fast 64-bit hash over 8-byte words (not cryptographic): detects truncated,
 * corrupted or mismatched weights files. The tail is zero-padded. Its three
 * steps are separate so that a writer can hash a section it never holds in
 * one piece (lib/Target/ExternalizeWeights.cpp): begin with the total size,
 * one step per little-endian word, end. */
static inline uint64_t tfc_hash64_begin(uint64_t size) {
  return 0x9E3779B97F4A7C15ull ^ (size * 0xC2B2AE3D27D4EB4Full);
}

static inline uint64_t tfc_hash64_word(uint64_t h, uint64_t w) {
  return tfc_rotl64(h ^ (w * 0xFF51AFD7ED558CCDull), 31) *
         0x9E3779B97F4A7C15ull;
}

static inline uint64_t tfc_hash64_end(uint64_t h) {
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  return h;
}

static inline uint64_t tfc_hash64(const void *data, uint64_t size) {
  const unsigned char *p = (const unsigned char *)data;
  uint64_t h = tfc_hash64_begin(size);
  uint64_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = tfc_hash64_word(h, w);
  }
  if (i < size) {
    uint64_t w = 0;
    memcpy(&w, p + i, (size_t)(size - i));
    h = tfc_hash64_word(h, w);
  }
  return tfc_hash64_end(h);
}

#endif /* TFC_SUPPORT_WEIGHTSFORMAT_H */

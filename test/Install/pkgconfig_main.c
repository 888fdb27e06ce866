/*===- pkgconfig_main.c - a C application built with pkg-config ----------===*
 *
 *   cc pkgconfig_main.c $(pkg-config --cflags --libs tfcrt)
 *   ./a.out MODEL.so WEIGHTS.tfcw
 *
 * Loads a model compiled with `tfc --emit=shared` (stories260K: input_ids
 * and attention_mask [batch, seq] i64), runs it twice through a result
 * cache, and checks that the second run is a hit with the same logits.
 *===----------------------------------------------------------------------===*/
#include <tfc_runtime.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.so WEIGHTS.tfcw\n", argv[0]);
    return 2;
  }
  tfc_model *model;
  if (tfc_model_load_shared(argv[1], argv[2], &model) != TFC_OK) {
    fprintf(stderr, "load: %s\n", tfc_last_error());
    return 1;
  }
  int64_t ids[5] = {1, 403, 407, 261, 378}, mask[5] = {1, 1, 1, 1, 1};
  tfc_tensor in[2] = {{TFC_DTYPE_I64, 2, {1, 5}, ids},
                      {TFC_DTYPE_I64, 2, {1, 5}, mask}};
  tfc_cache *cache;
  tfc_tensor a, b;
  if (tfc_cache_create(1 << 20, &cache) != TFC_OK ||
      tfc_model_run_cached(model, cache, in, 2, &a, 1) != TFC_OK ||
      tfc_model_run_cached(model, cache, in, 2, &b, 1) != TFC_OK) {
    fprintf(stderr, "run: %s\n", tfc_last_error());
    return 1;
  }
  size_t n = (size_t)(a.shape[0] * a.shape[1] * a.shape[2]);
  int finite = 1;
  for (size_t i = 0; i < n; ++i)
    finite &= isfinite(((const float *)a.data)[i]) != 0;
  tfc_cache_stats s;
  tfc_cache_get_stats(cache, &s);
  int same = memcmp(a.data, b.data, n * sizeof(float)) == 0;
  printf("model '%s': logits [%lld, %lld, %lld], finite %d, cache %llu hit "
         "%llu miss, same %d\n",
         tfc_model_get_desc(model)->name, (long long)a.shape[0],
         (long long)a.shape[1], (long long)a.shape[2], finite,
         (unsigned long long)s.hits, (unsigned long long)s.misses, same);
  tfc_tensor_free(&a);
  tfc_tensor_free(&b);
  tfc_cache_free(cache);
  tfc_model_free(model);
  return finite && same && s.hits == 1 && s.misses == 1 ? 0 : 1;
}

/*===- DistBackend.h - libtfcrt <-> libtfcrt_mpi.so interface ----*- C -*-===*
 *
 * libtfcrt does not link MPI. When a process was started by mpirun,
 * tfc_dist_init dlopens libtfcrt_mpi.so (DistMpi.cpp) and calls
 * tfcrt_dist_backend_v1() for this table. Every operation is blocking for
 * the caller but nonblocking inside (MPI_I* + MPI_Test polling) against
 * `deadline` (CLOCK_MONOTONIC seconds): it returns 0, or nonzero with a
 * message in err[0..errLen) -- TFCRT_DIST_TIMEOUT when the other ranks did
 * not answer in time. Plain C types only, so the library can be rebuilt
 * against another MPI without touching libtfcrt.
 *===----------------------------------------------------------------------===*/
#ifndef TFC_LIB_RUNTIME_DISTBACKEND_H
#define TFC_LIB_RUNTIME_DISTBACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFCRT_DIST_BACKEND_VERSION 1
#define TFCRT_DIST_TIMEOUT 2

typedef struct tfcrt_dist_backend {
  int version; /* TFCRT_DIST_BACKEND_VERSION */
  /* MPI_Init_thread; *rank, *size of MPI_COMM_WORLD. */
  int (*init)(int *rank, int *size, char *err, size_t errLen);
  int (*finalize)(void);
  void (*abort_job)(int code);
  /* out[i] = sum over ranks of in[i], i < n (in == out allowed). */
  int (*all_reduce_f32)(const float *in, float *out, int64_t n,
                        double deadline, char *err, size_t errLen);
  /* counts[r] = `count` of rank r, for every r < size. */
  int (*all_gather_i64)(int64_t count, int64_t *counts, double deadline,
                        char *err, size_t errLen);
  /* out = concatenation of every rank's in[0..counts[rank]) in rank order. */
  int (*all_gather_v_f32)(const float *in, const int64_t *counts, float *out,
                          double deadline, char *err, size_t errLen);
  int (*send)(const void *buf, int64_t bytes, int peer, int tag,
              double deadline, char *err, size_t errLen);
  /* Receives exactly `bytes` bytes from `peer` with `tag`. */
  int (*recv)(void *buf, int64_t bytes, int peer, int tag, double deadline,
              char *err, size_t errLen);
  int (*broadcast)(void *buf, int64_t bytes, int root, double deadline,
                   char *err, size_t errLen);
} tfcrt_dist_backend;

typedef const tfcrt_dist_backend *(*tfcrt_dist_backend_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* TFC_LIB_RUNTIME_DISTBACKEND_H */

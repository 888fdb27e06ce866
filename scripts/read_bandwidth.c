// read_bandwidth.c: how fast this machine streams weights the way a decode
// step reads them (docs/PERFORMANCE.md "Roofline"): 538 MB (SmolLM2's fp32
// weights) read once with AVX-512 loads by 1 and 2 threads, from a file
// mapping (the runtime mmaps the .tfcw), from anonymous memory with
// transparent huge pages, and from anonymous memory with 4 KB pages.
//   gcc -O2 -mavx512f -pthread scripts/read_bandwidth.c -o /tmp/read_bw
//   /tmp/read_bw FILE_OF_AT_LEAST_538_MB      (e.g. a SmolLM2 .tfcw)
// Best of 7 passes each; GB/s = bytes read / time (nothing written).
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef struct {const float*p; size_t n; float r;} A;
static void* rd(void*a_){A*a=a_;__m512 s0=_mm512_setzero_ps(),s1=s0,s2=s0,s3=s0;
 for(size_t i=0;i<a->n;i+=64){s0=_mm512_add_ps(s0,_mm512_loadu_ps(a->p+i));s1=_mm512_add_ps(s1,_mm512_loadu_ps(a->p+i+16));s2=_mm512_add_ps(s2,_mm512_loadu_ps(a->p+i+32));s3=_mm512_add_ps(s3,_mm512_loadu_ps(a->p+i+48));}
 a->r=_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0,s1),_mm512_add_ps(s2,s3)));return 0;}
static double run(const float*p,size_t n,int th){pthread_t t[2];A a[2];double best=1e9;
 for(int rep=0;rep<7;rep++){double t0=now();for(int i=0;i<th;i++){a[i].p=p+i*(n/th);a[i].n=n/th;pthread_create(&t[i],0,rd,&a[i]);}
 for(int i=0;i<th;i++)pthread_join(t[i],0);double dt=now()-t0;if(dt<best)best=dt;}
 return n*4.0/best/1e9;}
int main(int argc,char**argv){size_t bytes=538ull<<20;size_t n=bytes/4;
 int fd=open(argv[1],O_RDONLY);float*m=mmap(0,bytes,PROT_READ,MAP_PRIVATE,fd,0);
 volatile float s=0;for(size_t i=0;i<n;i+=1024)s+=m[i];
 printf("mmap file (page cache, 4K): 1 thr %.1f GB/s, 2 thr %.1f GB/s\n",run(m,n,1),run(m,n,2));
 float*h;posix_memalign((void**)&h,2<<20,bytes);madvise(h,bytes,MADV_HUGEPAGE);memcpy(h,m,bytes);
 printf("anon MADV_HUGEPAGE: 1 thr %.1f GB/s, 2 thr %.1f GB/s\n",run(h,n,1),run(h,n,2));
 float*q;posix_memalign((void**)&q,2<<20,bytes);madvise(q,bytes,MADV_NOHUGEPAGE);memcpy(q,m,bytes);
 printf("anon 4K pages: 1 thr %.1f GB/s, 2 thr %.1f GB/s\n",run(q,n,1),run(q,n,2));
 FILE*f=fopen("/proc/self/smaps_rollup","r");char l[256];while(fgets(l,256,f))if(strstr(l,"AnonHuge"))fputs(l,stdout);
 return 0;}

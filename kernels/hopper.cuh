// Hopper (sm_90a) pipeline building blocks, one inline PTX line each, header-free for NVRTC.
// Kernels include this file (mmabench/compiler/cuda_source.py inlines it); the GEMM
// (tma_gemm.cu) uses them, and the Hopper attention kernel is to use the same ones.
//
//   TMA          cp.async.bulk.tensor.2d (global -> shared, completing on an mbarrier), with the
//                tensor map a __grid_constant__ kernel parameter made on the host
//                (mmabench/hopper/tensor_map.py: 128-byte-swizzled boxes)
//   mbarrier     init, arrive, arrive.expect_tx, try_wait.parity (the phase bit flips on each
//                reuse of a ring slot)
//   registers    setmaxnreg.dec / .inc per warpgroup (needs __launch_bounds__(threads, 1): a
//                register count fixed at entry; ptxas C7508 otherwise, which fails the build)
//   wgmma        fence / commit_group / wait_group and the shared-memory matrix descriptor of a
//                K-major 128B-swizzled tile
//   fences       fence.proxy.async (generic-proxy writes -> async proxy), fence.mbarrier_init

#ifndef MMABENCH_HOPPER_CUH
#define MMABENCH_HOPPER_CUH

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned long long u64;

#define DEV static __device__ __forceinline__

// A CUtensorMap: opaque, 128 bytes, 64-byte aligned; passed by value as a __grid_constant__
// parameter so that its address is a generic address in the kernel parameter space.
struct __align__(64) TensorMap { u64 opaque[16]; };

DEV int imin(int a, int b) { return a < b ? a : b; }

DEV void st_global_b32(void* p, u32 v) {
    asm volatile("st.global.b32 [%0], %1;" :: "l"(p), "r"(v) : "memory");
}

DEV u32 smem_addr(const void* p) {
    u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// ---------------------------------------------------------------- mbarriers

DEV void mbar_init(u32 bar, u32 arrivals) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(bar), "r"(arrivals) : "memory");
}
// the barrier inits visible to the async proxy (TMA) and to the other threads after a CTA barrier
DEV void fence_mbar_init() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
DEV void mbar_arrive(u32 bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" :: "r"(bar) : "memory");
}
// one arrival that also announces `bytes` of transactions (the TMA loads that complete it)
DEV void mbar_arrive_expect_tx(u32 bar, u32 bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n"
                 :: "r"(bar), "r"(bytes) : "memory");
}
// spin until the phase of parity `parity` has completed (a fresh barrier's phase "1" counts as
// completed, so a producer's first wait on an empty slot passes at once)
DEV void mbar_wait(u32 bar, u32 parity) {
    asm volatile("{\n.reg .pred done;\nWAIT:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
                 "@!done bra WAIT;\n}\n" :: "r"(bar), "r"(parity) : "memory");
}

// ---------------------------------------------------------------- clusters

DEV u32 cluster_ctarank() {
    u32 r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
    return r;
}
// every thread of every CTA of the cluster arrives, then waits for the others: after it the
// peers' shared memory (their mbarriers) is initialized, or no longer written to. Not .aligned:
// a warp may reach it diverged (the producer's elected thread comes later than its lanes).
DEV void cluster_sync() {
    asm volatile("barrier.cluster.arrive.release;\n"
                 "barrier.cluster.wait.acquire;\n" ::: "memory");
}
// arrive on the mbarrier at the same shared-memory offset in CTA `rank` of the cluster
DEV void mbar_arrive_cluster(u32 bar, u32 rank) {
    asm volatile("{\n.reg .b32 remote;\nmapa.shared::cluster.u32 remote, %0, %1;\n"
                 "mbarrier.arrive.shared::cluster.b64 _, [remote];\n}\n"
                 :: "r"(bar), "r"(rank) : "memory");
}

// ---------------------------------------------------------------- TMA

DEV void prefetch_tensor_map(const TensorMap* map) {
    asm volatile("prefetch.tensormap [%0];\n" :: "l"(map) : "memory");
}
// the box at (c0 innermost, c1) of `map` into shared memory at `dst`; completes on `bar`.
// Coordinates past the tensor's end are filled with zeros (and still count as bytes).
DEV void tma_load_2d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%3, %4}], [%2];\n"
                 :: "r"(dst), "l"(map), "r"(bar), "r"(c0), "r"(c1) : "memory");
}

// the same for a 3-D box (c0 innermost, c1, c2): a row tile of one (batch, head) of a
// [batch*heads, seq, dim] tensor, zero-filled past the end of its own sequence
DEV void tma_load_3d(u32 dst, const TensorMap* map, u32 bar, int c0, int c1, int c2) {
    asm volatile("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%3, %4, %5}], [%2];\n"
                 :: "r"(dst), "l"(map), "r"(bar), "r"(c0), "r"(c1), "r"(c2) : "memory");
}

// the same load multicast: the box lands at offset `dst` of every CTA in `cta_mask` and completes
// on the mbarrier at offset `bar` of each of them
DEV void tma_load_2d_multicast(u32 dst, const TensorMap* map, u32 bar, int c0, int c1,
                               unsigned short cta_mask) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 ".multicast::cluster [%0], [%1, {%3, %4}], [%2], %5;\n"
                 :: "r"(dst), "l"(map), "r"(bar), "r"(c0), "r"(c1), "h"(cta_mask) : "memory");
}

// the box at (c0 innermost, c1) of `map` from shared memory at `src` (written by the generic
// proxy: fence_proxy_async first); parts past the tensor's end are not written. One bulk group
// per commit; wait_group.read N: the source of all but the N newest groups may be reused.
DEV void tma_store_2d(const TensorMap* map, u32 src, int c0, int c1) {
    asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%2, %3}], [%1];\n"
                 :: "l"(map), "r"(src), "r"(c0), "r"(c1) : "memory");
}
DEV void tma_store_3d(const TensorMap* map, u32 src, int c0, int c1, int c2) {
    asm volatile("cp.async.bulk.tensor.3d.global.shared::cta.bulk_group [%0, {%2, %3, %4}], [%1];\n"
                 :: "l"(map), "r"(src), "r"(c0), "r"(c1), "r"(c2) : "memory");
}
DEV void tma_store_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
template <int N> DEV void tma_store_wait_read() {
    asm volatile("cp.async.bulk.wait_group.read %0;\n" :: "n"(N) : "memory");
}

// Byte offset of element (row, col) of 2-byte elements in a tile of 128-byte rows stored with
// the 128B swizzle (as TMA reads and writes it): the 16-byte chunk index XOR row % 8. A warp
// writing an accumulator fragment (8 rows x 4 pairs) hits 8 distinct chunks: no bank conflict.
DEV u32 swizzle128_offset(int row, int col) {
    const int chunk = ((col * 2) >> 4) ^ (row & 7);
    return row * 128 + (chunk << 4) + ((col * 2) & 15);
}

DEV void st_shared_b32(u32 addr, u32 v) {
    asm volatile("st.shared.b32 [%0], %1;" :: "r"(addr), "r"(v) : "memory");
}

// a barrier among `threads` threads (a warpgroup: 128) with its own id (1..15; 0 is __syncthreads)
DEV void named_barrier(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" :: "r"(id), "r"(threads) : "memory");
}
// arrive at named barrier `id` without waiting: with named_barrier on the same id and count,
// one warpgroup signals another (ping-pong turns)
DEV void named_barrier_arrive(int id, int threads) {
    asm volatile("bar.arrive %0, %1;\n" :: "r"(id), "r"(threads) : "memory");
}

// ---------------------------------------------------------------- warp specialization

template <int N> DEV void setmaxnreg_dec() {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" :: "n"(N));
}
template <int N> DEV void setmaxnreg_inc() {
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" :: "n"(N));
}

// ---------------------------------------------------------------- wgmma

DEV void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
DEV void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> DEV void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" :: "n"(N) : "memory");
}
// Pin a register's value to this point of the program: the compiler sees it read and written
// here. wgmma's asm statements name their accumulators as outputs at the *issue*, so without
// this the compiler may hoist a read of the accumulator above the wgmma_wait that makes it
// valid, or sink unrelated math below a wait that it should overlap (softmax under P.V).
DEV void reg_fence(float& r) { asm volatile("" : "+f"(r) :: "memory"); }
DEV void reg_fence(u32& r) { asm volatile("" : "+r"(r) :: "memory"); }
template <class X, int N> DEV void reg_fence(X (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) reg_fence(r[i]);
}
template <class X, int N, int M> DEV void reg_fence(X (&r)[N][M]) {
#pragma unroll
    for (int i = 0; i < N; ++i) reg_fence(r[i]);
}
DEV void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Shared-memory matrix descriptor of a K-major tile with the 128B swizzle (rows of 128 bytes,
// 8-row groups 1024 B apart, 1024-byte aligned base): start >> 4 in bits 0-13, leading offset
// unused for swizzled K-major (1), stride offset 1024 >> 4 in bits 32-45, swizzle mode 1 (128B)
// in bits 62-63. A k16 step of fp16 (32 bytes) within the row adds 2 to the descriptor.
DEV u64 desc_k_major_sw128(u32 addr) {
    const u64 start = (addr & 0x3FFFF) >> 4;
    return start | (1ull << 16) | ((u64)(1024 >> 4) << 32) | (1ull << 62);
}

// The same for an MN-major tile (the B operand of O += P.V: V [keys, d] with d contiguous, read
// with imm-trans-b = 1): 128-byte rows along MN, 8-row groups along K 1024 B apart (stride
// offset), and the next 64 MN elements (the next 128B-swizzled box) `mn_box_bytes` further
// (leading offset). A k16 step (16 rows) adds 2048 bytes: +128 in the >>4 field.
DEV u64 desc_mn_major_sw128(u32 addr, u32 mn_box_bytes) {
    const u64 start = (addr & 0x3FFFF) >> 4;
    return start | ((u64)((mn_box_bytes >> 4) & 0x3FFF) << 16) | ((u64)(1024 >> 4) << 32) | (1ull << 62);
}

DEV u32 pack_f16x2(float lo, float hi) {
    u32 y;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(y) : "f"(hi), "f"(lo));  // first source -> upper half
    return y;
}

// wgmma, both operands from shared memory (descriptors), K-major, one instruction per call:
//   f16 inputs, m64n256k16            wgmma_m64n256k16_{f32,f16}(d, a, b)
//   e4m3 inputs, m64nNk32 (N 256/128) wgmma_m64n{256,128}k32_{f32,f16}_e4m3(d, a, b, accumulate)
// An f32 accumulator holds N/2 floats per thread, an f16 one N/4 registers of packed f16x2.
// `accumulate` 0 gives D = A.B (the accumulator's old value ignored): a fresh partial sum.
// FP8 wgmma has no transpose: both operands must be K-major in shared memory.
#define MMABENCH_F4(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3])
#define MMABENCH_F16(i) MMABENCH_F4(i), MMABENCH_F4(i + 4), MMABENCH_F4(i + 8), MMABENCH_F4(i + 12)
#define MMABENCH_F64(i) MMABENCH_F16(i), MMABENCH_F16(i + 16), MMABENCH_F16(i + 32), MMABENCH_F16(i + 48)
#define MMABENCH_R4(i) "+r"(d[i]), "+r"(d[i + 1]), "+r"(d[i + 2]), "+r"(d[i + 3])
#define MMABENCH_R16(i) MMABENCH_R4(i), MMABENCH_R4(i + 4), MMABENCH_R4(i + 8), MMABENCH_R4(i + 12)
#define MMABENCH_R64(i) MMABENCH_R16(i), MMABENCH_R16(i + 16), MMABENCH_R16(i + 32), MMABENCH_R16(i + 48)
// the accumulator operands of the asm strings: %0 .. %63 and %64 .. %127
#define MMABENCH_OPS_0_63 \
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, " \
    "%38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, " \
    "%56, %57, %58, %59, %60, %61, %62, %63"
#define MMABENCH_OPS_64_127 \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, " \
    "%82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, " \
    "%100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, " \
    "%115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
#define MMABENCH_OPS_0_127 MMABENCH_OPS_0_63 ", " MMABENCH_OPS_64_127

DEV void wgmma_m64n256k16_f32(float* d, u64 da, u64 db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 {" MMABENCH_OPS_0_127 "}, "
                 "%128, %129, p, 1, 1, 0, 0;\n}\n"
                 : MMABENCH_F64(0), MMABENCH_F64(64) : "l"(da), "l"(db));
}

DEV void wgmma_m64n256k16_f16(u32* d, u64 da, u64 db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f16.f16.f16 {" MMABENCH_OPS_0_63 "}, "
                 "%64, %65, p, 1, 1, 0, 0;\n}\n"
                 : MMABENCH_R64(0) : "l"(da), "l"(db));
}

DEV void wgmma_m64n256k32_f32_e4m3(float* d, u64 da, u64 db, int accumulate) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 {" MMABENCH_OPS_0_127 "}, "
                 "%128, %129, p, 1, 1;\n}\n"
                 : MMABENCH_F64(0), MMABENCH_F64(64) : "l"(da), "l"(db), "r"(accumulate));
}

DEV void wgmma_m64n256k32_f16_e4m3(u32* d, u64 da, u64 db, int accumulate) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.f16.e4m3.e4m3 {" MMABENCH_OPS_0_63 "}, "
                 "%64, %65, p, 1, 1;\n}\n"
                 : MMABENCH_R64(0) : "l"(da), "l"(db), "r"(accumulate));
}

DEV void wgmma_m64n128k32_f32_e4m3(float* d, u64 da, u64 db, int accumulate) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 {" MMABENCH_OPS_0_63 "}, "
                 "%64, %65, p, 1, 1;\n}\n"
                 : MMABENCH_F64(0) : "l"(da), "l"(db), "r"(accumulate));
}

// One K step of a warpgroup's m64 x N slab, chosen at compile time by input type, accumulator and
// N: Acc (float or packed f16x2 u32), REGS per thread, K (elements per step) and
// step(d, a_desc, b_desc, accumulate).
template <bool FP8, bool F16, int N> struct WgmmaStep;
template <> struct WgmmaStep<false, true, 256> {
    typedef u32 Acc;
    enum { REGS = 64, K = 16 };   // an enum: no global symbol in the PTX
    static __device__ __forceinline__ void step(u32* d, u64 da, u64 db, int) { wgmma_m64n256k16_f16(d, da, db); }
};
template <> struct WgmmaStep<false, false, 256> {
    typedef float Acc;
    enum { REGS = 128, K = 16 };
    static __device__ __forceinline__ void step(float* d, u64 da, u64 db, int) { wgmma_m64n256k16_f32(d, da, db); }
};
template <> struct WgmmaStep<true, true, 256> {
    typedef u32 Acc;
    enum { REGS = 64, K = 32 };
    static __device__ __forceinline__ void step(u32* d, u64 da, u64 db, int acc) {
        wgmma_m64n256k32_f16_e4m3(d, da, db, acc);
    }
};
template <> struct WgmmaStep<true, false, 256> {
    typedef float Acc;
    enum { REGS = 128, K = 32 };
    static __device__ __forceinline__ void step(float* d, u64 da, u64 db, int acc) {
        wgmma_m64n256k32_f32_e4m3(d, da, db, acc);
    }
};
template <> struct WgmmaStep<true, false, 128> {
    typedef float Acc;
    enum { REGS = 64, K = 32 };
    static __device__ __forceinline__ void step(float* d, u64 da, u64 db, int acc) {
        wgmma_m64n128k32_f32_e4m3(d, da, db, acc);
    }
};

// The f16-input m64n256k16 step alone (kernels/wgmma_gemm.cu): M64N256K16<F16>::Acc, ::step(d, a, b).
template <bool F16> struct M64N256K16 {
    typedef typename WgmmaStep<false, F16, 256>::Acc Acc;
    static __device__ __forceinline__ void step(Acc* d, u64 da, u64 db) { WgmmaStep<false, F16, 256>::step(d, da, db, 1); }
};

#endif

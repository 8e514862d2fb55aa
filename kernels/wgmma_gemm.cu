// A minimal Hopper GEMM main loop on wgmma, with the accumulator chosen at compile time.
//
//     C[M, N] (fp16, row-major) = A[M, K] (fp16, row-major) . B[N, K]^T (fp16, row-major)
//
// i.e. both operands K-major (what wgmma reads without transposes; torch: a @ b.T).
//
// No CUDA headers: NVRTC compiles it for compute_90a; every tensor-core, copy, fence and
// conversion operation is an inline PTX line, the Hopper ones from kernels/hopper.cuh (shared
// with tma_gemm.cu):
//   wgmma.mma_async.sync.aligned.m64n256k16.{f32|f16}.f16.f16 (descriptors for A and B, SS)
//   wgmma.fence / commit_group / wait_group, cp.async.cg.shared.global (+ groups, here),
//   fence.proxy.async.shared::cta, bar.sync, cvt.rn.f16x2.f32 (f32 epilogue only).
//
// One variant per compilation: mmabench/gemm/build.py prepends
//   GEMM_ACC_F16   0: f32 accumulators (128 registers/thread), 1: f16 (64 registers/thread)
//   GEMM_RESIDENT  1: "smem-resident": the first K tile of A and B is loaded once, and the K loop
//                     re-reads it (same wgmma count as the real GEMM: the math and the
//                     accumulator alone, no global traffic in the loop). C = (K/64) A[:, :64]
//                     B[:, :64]^T. 0: "pipelined": a real global->shared pipeline.
//   GEMM_STAGES    shared-memory stages of the pipeline (>= 3)
//
// CTA tile 128 x 256 x 64, 256 threads = 2 consumer warpgroups; warpgroup w computes rows
// 64w..64w+63 of the tile with one m64n256k16 wgmma per k16 step (4 per K tile).
//
// Shared memory: each stage holds A (128 rows x 128 B) and B (256 rows x 128 B), K-major with
// the 128-byte swizzle: row r's 16-byte chunk c sits at r*128 + 16*(c ^ (r % 8)) from a
// 1024-byte aligned base (PTX ISA: Swizzle<3,4,3>, K-major 128B swizzle atom = 8 rows x 128 B).
// Descriptor: start >> 4, LBO unused for swizzled K-major (1), SBO = 1024 B (8 rows x 128 B)
// >> 4 = 64, base offset 0 (1024-byte aligned), swizzle mode 1 (128B). Step k16 within the
// 128-byte row: start address + 32 B (the hardware applies the XOR on the address bits).
//
// Pipeline (pipelined mode; cp.async, not TMA: no tensor map is needed from Python). All 256
// threads load and compute. With S stages and tile t consumed in iteration t:
//   prologue: load tiles 0 .. S-3 (one cp.async group each)
//   iteration t: cp.async.wait_group S-3 (my copies of tile t landed)
//                fence.proxy.async.shared::cta (generic-proxy writes -> visible to wgmma)
//                bar.sync (everyone's copies landed; and every warpgroup passed its
//                          wgmma.wait_group 1 of iteration t-1, so tile t-2's stage is free)
//                load tile t+S-2 into stage (t+S-2) % S = (t-2) % S; commit (maybe empty)
//                wgmma.fence; 4 x wgmma on stage t % S; wgmma.commit_group; wgmma.wait_group 1
// so one wgmma group stays in flight while the next tile's copies run S-2 tiles ahead.
// Epilogue: wgmma.wait_group 0, then fp16 C straight from the accumulator registers
// (f32: cvt.rn.f16x2.f32 per pair; f16: the registers are already f16x2).
//
// Accumulator layout (PTX ISA, wgmma m64nNk16 D): thread t of the warpgroup, warp w = t / 32,
// lane l: element i (0 .. N/2-1) is at row 16w + l/4 + 8*((i/2) % 2), column
// 8*(i/4) + 2*(l%4) + (i%2); f16 packs elements 2r, 2r+1 into register r.

#include "hopper.cuh"

#ifndef GEMM_ACC_F16
#error "GEMM_ACC_F16 (and GEMM_RESIDENT, GEMM_STAGES) come from mmabench/gemm/build.py"
#endif

struct Traits {
    static constexpr bool ACC_F16 = GEMM_ACC_F16;
    static constexpr bool RESIDENT = GEMM_RESIDENT;
    static constexpr int STAGES = RESIDENT ? 1 : GEMM_STAGES;
    static constexpr int BM = 128, BN = 256, BK = 64;       // CTA tile; BK * 2 B = one 128 B row
    static constexpr int THREADS = 256;                      // 2 warpgroups
    static constexpr int GROUP_M = 16;                       // tile order: 16 M tiles per group
    static constexpr int A_BYTES = BM * BK * 2;              // 16 KiB
    static constexpr int B_BYTES = BN * BK * 2;              // 32 KiB
    static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
    static constexpr int SMEM_BYTES = STAGES * STAGE_BYTES + 1024;  // + alignment slack
    static constexpr int ACC_REGS = ACC_F16 ? BN / 4 : BN / 2;      // per thread
    static_assert(RESIDENT || STAGES >= 3, "the pipeline needs >= 3 stages");
    static_assert((BM * 8) % THREADS == 0 && (BN * 8) % THREADS == 0, "chunks split evenly");
};
using T = Traits;

DEV void cp_async16(u32 dst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" :: "r"(dst), "l"(src) : "memory");
}
DEV void cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> DEV void cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N) : "memory"); }
DEV void block_sync() { asm volatile("bar.sync 0;\n" ::: "memory"); }

// Copy a rows x 64 fp16 tile (global row stride ld elements) into swizzled shared memory.
template <int ROWS>
DEV void load_tile(u32 dst, const u16* src, int ld, int tid) {
#pragma unroll
    for (int i = 0; i < ROWS * 8 / T::THREADS; ++i) {
        const int q = tid + i * T::THREADS;
        const int r = q >> 3, c = q & 7;
        cp_async16(dst + r * 128 + ((c ^ (r & 7)) << 4), src + (long long)r * ld + c * 8);
    }
}

typedef M64N256K16<GEMM_ACC_F16>::Acc Acc;
DEV void mma_k16(Acc* d, u64 da, u64 db) { M64N256K16<GEMM_ACC_F16>::step(d, da, db); }

// The 4 k16 steps of one K tile held at stage address `stage`, for warpgroup `wg`.
DEV void mma_tile(Acc* d, u32 stage, int wg) {
    const u64 da = desc_k_major_sw128(stage + wg * 64 * 128);     // rows 64 wg .. 64 wg + 63 of A
    const u64 db = desc_k_major_sw128(stage + T::A_BYTES);        // all 256 rows of B
#pragma unroll
    for (int kk = 0; kk < T::BK / 16; ++kk)
        mma_k16(d, da + 2 * kk, db + 2 * kk);            // +32 B = +2 in the >>4 address field
}

extern "C" __global__ void __launch_bounds__(T::THREADS, 1)
wgmma_gemm(const u16* __restrict__ A, const u16* __restrict__ B, u16* __restrict__ C,
           int M, int N, int K) {
    extern __shared__ __attribute__((aligned(1024))) unsigned char smem_raw[];
    const u32 base = (smem_addr(smem_raw) + 1023) & ~1023u;
    const int tid = threadIdx.x, wg = tid >> 7;

    // grouped tile order (GROUP_M M tiles share the N sweep): neighbours in time share B and A
    const int tiles_m = M / T::BM, tiles_n = N / T::BN;
    const int pid = blockIdx.x;
    const int group = pid / (T::GROUP_M * tiles_n);
    const int first_m = group * T::GROUP_M;
    const int group_m = imin(tiles_m - first_m, T::GROUP_M);
    const int tile_m = first_m + (pid % (T::GROUP_M * tiles_n)) % group_m;
    const int tile_n = (pid % (T::GROUP_M * tiles_n)) / group_m;
    const u16* a_tile = A + (long long)tile_m * T::BM * K;
    const u16* b_tile = B + (long long)tile_n * T::BN * K;
    const int KT = K / T::BK;

    Acc d[T::ACC_REGS];
#pragma unroll
    for (int i = 0; i < T::ACC_REGS; ++i) d[i] = 0;

#if GEMM_RESIDENT
    load_tile<T::BM>(base, a_tile, K, tid);
    load_tile<T::BN>(base + T::A_BYTES, b_tile, K, tid);
    cp_commit();
    cp_wait<0>();
    fence_proxy_async();
    block_sync();
    for (int t = 0; t < KT; ++t) {
        wgmma_fence();
        mma_tile(d, base, wg);
        wgmma_commit();
        wgmma_wait<1>();
    }
#else
#pragma unroll
    for (int s = 0; s < T::STAGES - 2; ++s) {
        if (s < KT) {
            load_tile<T::BM>(base + s * T::STAGE_BYTES, a_tile + s * T::BK, K, tid);
            load_tile<T::BN>(base + s * T::STAGE_BYTES + T::A_BYTES, b_tile + s * T::BK, K, tid);
        }
        cp_commit();
    }
    for (int t = 0; t < KT; ++t) {
        cp_wait<T::STAGES - 3>();
        fence_proxy_async();
        block_sync();
        const int next = t + T::STAGES - 2;
        if (next < KT) {
            const u32 stage = base + (next % T::STAGES) * T::STAGE_BYTES;
            load_tile<T::BM>(stage, a_tile + next * T::BK, K, tid);
            load_tile<T::BN>(stage + T::A_BYTES, b_tile + next * T::BK, K, tid);
        }
        cp_commit();
        wgmma_fence();
        mma_tile(d, base + (t % T::STAGES) * T::STAGE_BYTES, wg);
        wgmma_commit();
        wgmma_wait<1>();
    }
#endif
    wgmma_wait<0>();

    // epilogue: fp16 C from the accumulator fragments
    const int warp = (tid & 127) >> 5, lane = tid & 31;
    const int row0 = tile_m * T::BM + wg * 64 + warp * 16 + (lane >> 2);
    const int col0 = tile_n * T::BN + 2 * (lane & 3);
#pragma unroll
    for (int j = 0; j < T::BN / 8; ++j) {
        u16* p0 = C + (long long)row0 * N + col0 + 8 * j;
        u16* p1 = p0 + 8LL * N;
#if GEMM_ACC_F16
        st_global_b32(p0, d[2 * j]);
        st_global_b32(p1, d[2 * j + 1]);
#else
        st_global_b32(p0, pack_f16x2(d[4 * j], d[4 * j + 1]));
        st_global_b32(p1, pack_f16x2(d[4 * j + 2], d[4 * j + 3]));
#endif
    }
}

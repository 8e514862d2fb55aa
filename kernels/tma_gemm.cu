// A warp-specialized Hopper GEMM: TMA loads completing on mbarriers, wgmma from shared memory,
// with the input type and the accumulator chosen at compile time.
//
//     C[M, N] (fp16, row-major) = A[M, K] (row-major) . B[N, K]^T (row-major), fp16 or e4m3 in
//
// Both operands K-major (torch: a @ b.T; FP8 wgmma takes no other layout). Any M, N, K with K a
// multiple of 16 bytes of input (TMA: 16-byte row strides) and N even (C is stored in f16
// pairs): TMA fills the part of a box past the tensor's end with zeros, and the epilogue stores
// only the elements inside C.
//
// One variant per compilation: mmabench/gemm/build.py prepends
//   GEMM_ACC_F16   0: f32 accumulators (N/2 registers per m64 x N slab), 1: f16 (N/4)
//   GEMM_FP8       0: fp16 inputs (wgmma k16), 1: e4m3 inputs (wgmma k32)
//   TMA_BM         CTA tile rows: 128 (one m64 slab per consumer warpgroup) or 256 (two)
//   TMA_BN         CTA tile columns: 256, or 128 (the FP8 promotion's two f32 accumulators)
//   TMA_PROMOTE    FP8 with f32: each K tile's wgmmas start a fresh partial sum that is then
//                  added into an f32 register accumulator (DeepSeek-V3's promotion every 128
//                  K-elements: the FP8 wgmma keeps 14 bits of its sum)
//   TMA_STORE_C    0: each thread stores its accumulator pairs to global memory; 1: each
//                  consumer writes its slab into 128B-swizzled shared memory and one thread
//                  stores it with TMA (boxes of 64 x 64), asynchronously: the next tile's main
//                  loop starts while it drains
//   TMA_PINGPONG   0: cooperative, both consumers split each output tile (64 rows each); 1:
//                  ping-pong (persistent only), each consumer owns whole tiles (BM rows: 128
//                  for f16, whose 2 x 64 accumulator registers fit, 64 for f32), the two taking
//                  turns: one runs its main loop while the other stores its last tile, the
//                  turn passed on named barriers
//   TMA_CLUSTER    1, or 2: a cluster of two CTAs on vertically adjacent tiles (one tile of N),
//                  each loading half of the shared B tile and multicasting it to both; a stage
//                  is refilled only when the consumers of both CTAs have released it
//   TMA_STAGES     shared-memory stages of the ring
//   TMA_PERSISTENT 0: one CTA per output tile; 1: one CTA per SM looping over tiles (the host
//                  launches min(SMs, tiles)), the stage ring and its phases running on across
//                  tiles, so the producer loads the next tile while the consumers store this one
//
// CTA: 3 warpgroups, 384 threads. Warpgroup 0 is the producer: it gives registers away
// (setmaxnreg.dec to 40) and one of its threads issues the TMA loads of each K tile (A: BM rows,
// B: BN rows, of 128 bytes: 64 fp16 or 128 e4m3, 128B-swizzled) into the next free stage,
// announcing the bytes on that stage's "full" barrier. Warpgroups 1 and 2 are the consumers
// (setmaxnreg.inc to 232): each waits on "full", issues 4 wgmma K steps per m64 slab, keeps one
// wgmma group in flight (wait_group 1), and then releases the stage read in the previous
// iteration on its "empty" barrier (one arrival per consumer warpgroup). With promotion, each K
// tile's group must finish before its partial sum is added (wait_group 0): the cost of promoting.
// 128*40 + 256*232 = 64,512 registers.
//
// Tile order: grouped rasterization (GROUP_M M tiles share the sweep over N), so tiles that run
// at the same time share their A and B panels in L2.

#include "hopper.cuh"

#ifndef GEMM_ACC_F16
#error "GEMM_ACC_F16 (and GEMM_FP8, TMA_BM, TMA_BN, TMA_PROMOTE, TMA_STORE_C, TMA_PINGPONG, TMA_CLUSTER, TMA_STAGES, TMA_PERSISTENT) come from mmabench/gemm/build.py"
#endif

typedef WgmmaStep<GEMM_FP8, GEMM_ACC_F16, TMA_BN> Step;
typedef Step::Acc Acc;

struct Traits {
    static constexpr bool ACC_F16 = GEMM_ACC_F16;
    static constexpr bool PROMOTE = TMA_PROMOTE;
    static constexpr int ROW_BYTES = 128;                    // one 128B swizzle row per K tile
    static constexpr int BM = TMA_BM, BN = TMA_BN, BK = ROW_BYTES / (GEMM_FP8 ? 1 : 2);
    static constexpr int STAGES = TMA_STAGES;
    static constexpr bool PERSISTENT = TMA_PERSISTENT;
    static constexpr bool PINGPONG = TMA_PINGPONG;
    static constexpr int CONSUMERS = 2;                      // consumer warpgroups
    static constexpr int THREADS = 128 * (1 + CONSUMERS);
    static constexpr int READERS = PINGPONG ? 1 : CONSUMERS; // consumers reading each stage
    static constexpr int CLUSTER = TMA_CLUSTER;              // CTAs sharing (multicasting) B
    static constexpr int SLABS = BM / (64 * READERS);        // m64 slabs per consumer and tile
    static constexpr int GROUP_M = 16;
    static constexpr int A_BYTES = BM * ROW_BYTES;
    static constexpr int B_BYTES = BN * ROW_BYTES;
    static constexpr int STAGE_BYTES = A_BYTES + B_BYTES;
    static constexpr bool STORE_C = TMA_STORE_C;
    static constexpr int C_BOX = 64;                         // 64 x 64 fp16 = 128-byte rows
    static constexpr int C_SLAB_BYTES = 64 * BN * 2;         // one consumer slab of C, staged
    static constexpr int ACC_REGS = Step::REGS;              // per slab and thread
    static constexpr int K_STEPS = BK / Step::K;              // wgmmas per slab and K tile: 4
    static constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;
    static_assert(SLABS == 1 || SLABS == 2, "TMA_BM is 128 or 256");
    static_assert(STAGES >= 2, "the ring needs >= 2 stages");
    static_assert(STAGE_BYTES % 1024 == 0, "each tile starts 1024-byte aligned (128B swizzle)");
    static_assert(!PROMOTE || (GEMM_FP8 && !ACC_F16 && SLABS == 1), "promotion: FP8, f32, 128 rows");
    static_assert(!STORE_C || (SLABS == 1 && !PINGPONG), "the TMA store stages one slab per consumer");
    static_assert(!PINGPONG || (PERSISTENT && !PROMOTE), "ping-pong: persistent, no promotion");
    static_assert(CLUSTER == 1 || (CLUSTER == 2 && !PERSISTENT), "clusters of 2, one tile per CTA");
};
using T = Traits;

// the K steps of one slab over one K tile: +32 B along the swizzled row = +2 in the >>4 field.
// `fresh`: the first step overwrites d (a new partial sum) instead of adding to it.
DEV void mma_k_tile(Acc* d, u64 da, u64 db, bool fresh) {
#pragma unroll
    for (int kk = 0; kk < T::K_STEPS; ++kk)
        Step::step(d, da + 2 * kk, db + 2 * kk, fresh && kk == 0 ? 0 : 1);
}


// Output tile of cluster tile `tile` in the grouped order (GROUP_M cluster rows share the sweep
// over N) for the CTA of cluster rank `rank`: the cluster's M tiles are adjacent.
DEV void tile_coords(int tile, int cluster_tiles_m, int tiles_n, int rank, int& tile_m, int& tile_n) {
    const int per_group = T::GROUP_M * tiles_n;
    const int first_m = (tile / per_group) * T::GROUP_M;
    const int group_m = imin(cluster_tiles_m - first_m, T::GROUP_M);
    tile_m = (first_m + (tile % per_group) % group_m) * T::CLUSTER + rank;
    tile_n = (tile % per_group) / group_m;
}

// A consumer warpgroup's release of a stage it has read: one arrival on that stage's "empty"
// barrier in every CTA of the cluster (the peers multicast into this stage too)
DEV void release_stage(u32 bar) {
    if (T::CLUSTER == 1) {
        mbar_arrive(bar);
        return;
    }
#pragma unroll
    for (int r = 0; r < T::CLUSTER; ++r) mbar_arrive_cluster(bar, r);
}

// fp16 C straight from one slab's accumulator fragments, inside C only
DEV void store_slab(const Acc* d, u16* C, int M, int N, int row0, int col0, int lane) {
#pragma unroll
    for (int n8 = 0; n8 < T::BN / 8; ++n8) {
        const int col = col0 + 8 * n8 + 2 * (lane & 3);
        if (col >= N) continue;
#pragma unroll
        for (int h = 0; h < 2; ++h) {                        // rows row0 and row0 + 8
            const int row = row0 + 8 * h;
            if (row >= M) continue;
#if GEMM_ACC_F16
            const u32 v = d[2 * n8 + h];
#else
            const u32 v = pack_f16x2(d[4 * n8 + 2 * h], d[4 * n8 + 2 * h + 1]);
#endif
            st_global_b32(C + (long long)row * N + col, v);
        }
    }
}

// The slab's fp16 C through shared memory (128B-swizzled boxes of 64 x 64) and a TMA store,
// which writes only inside C. `staged` is this consumer's buffer; the store of its previous tile
// must have finished reading it first. Fragment layout as in store_slab.
DEV void store_slab_tma(const Acc* d, const TensorMap* map_c, u32 staged, int row0, int col0,
                        int warp, int lane, int cw, bool issuer) {
    if (issuer) tma_store_wait_read<0>();                    // the previous tile's store has read it
    named_barrier(1 + cw, 128);
#pragma unroll
    for (int n8 = 0; n8 < T::BN / 8; ++n8) {
        const int col = 8 * n8 + 2 * (lane & 3);             // within the slab
        const u32 box = staged + (col / T::C_BOX) * (64 * 128);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = warp * 16 + (lane >> 2) + 8 * h;
#if GEMM_ACC_F16
            const u32 v = d[2 * n8 + h];
#else
            const u32 v = pack_f16x2(d[4 * n8 + 2 * h], d[4 * n8 + 2 * h + 1]);
#endif
            st_shared_b32(box + swizzle128_offset(row, col % T::C_BOX), v);
        }
    }
    fence_proxy_async();                                     // generic writes -> the TMA store
    named_barrier(1 + cw, 128);
    if (issuer) {
#pragma unroll
        for (int b = 0; b < T::BN / T::C_BOX; ++b)
            tma_store_2d(map_c, staged + b * (64 * 128), col0 + b * T::C_BOX, row0);
        tma_store_commit();
    }
}

#if TMA_CLUSTER > 1
#define TMA_CLUSTER_DIMS __cluster_dims__(TMA_CLUSTER, 1, 1)
#else
#define TMA_CLUSTER_DIMS
#endif

extern "C" __global__ void __launch_bounds__(T::THREADS, 1) TMA_CLUSTER_DIMS
tma_gemm(const __grid_constant__ TensorMap map_a, const __grid_constant__ TensorMap map_b,
         const __grid_constant__ TensorMap map_c, u16* __restrict__ C, int M, int N, int K) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const u32 base = (smem_addr(smem_raw) + 1023) & ~1023u;
    const u32 staging = base + T::STAGES * T::STAGE_BYTES;  // TMA_STORE_C: a C slab per consumer
    const u32 full = staging + (T::STORE_C ? T::CONSUMERS * T::C_SLAB_BYTES : 0);  // 8 B each
    const u32 empty = full + 8 * T::STAGES;
    const int tid = threadIdx.x, wg = tid >> 7;

    const int tiles_m = (M + T::BM - 1) / T::BM, tiles_n = (N + T::BN - 1) / T::BN;
    // with clusters, the tile order runs over cluster tiles (CLUSTER M tiles, one N tile), and a
    // CTA takes the M tile of its rank in its cluster (past M: TMA reads zeros, nothing is stored)
    const int cluster_tiles_m = (tiles_m + T::CLUSTER - 1) / T::CLUSTER;
    const int tiles = cluster_tiles_m * tiles_n;
    const int rank = T::CLUSTER > 1 ? (int)cluster_ctarank() : 0;
    const int step = T::PERSISTENT ? gridDim.x : tiles;     // one tile per CTA unless persistent
    const int KT = (K + T::BK - 1) / T::BK;

    if (tid == 0) {
        prefetch_tensor_map(&map_a);
        prefetch_tensor_map(&map_b);
        for (int s = 0; s < T::STAGES; ++s) {
            mbar_init(full + 8 * s, 1);                      // the producer's expect_tx arrival
            mbar_init(empty + 8 * s, T::READERS * T::CLUSTER);   // each reading consumer, each CTA
        }
        fence_mbar_init();
    }
    __syncthreads();
    if (T::CLUSTER > 1) cluster_sync();                      // the peer's barriers are ready

    // `it` counts K tiles over all of this CTA's output tiles: stage it % STAGES, phase
    // (it / STAGES) & 1, on the producer's side and the consumers' alike
    if (wg == 0) {                                           // producer warpgroup
        setmaxnreg_dec<T::PRODUCER_REGS>();
        if (tid == 0) {
            int it = 0;
            for (int tile = blockIdx.x / T::CLUSTER; tile < tiles; tile += step) {
                int tile_m, tile_n;
                tile_coords(tile, cluster_tiles_m, tiles_n, rank, tile_m, tile_n);
                for (int t = 0; t < KT; ++t, ++it) {
                    const int s = it % T::STAGES;
                    mbar_wait(empty + 8 * s, ((it / T::STAGES) & 1) ^ 1);   // the slot is free
                    const u32 stage = base + s * T::STAGE_BYTES;
                    mbar_arrive_expect_tx(full + 8 * s, T::STAGE_BYTES);
                    tma_load_2d(stage, &map_a, full + 8 * s, t * T::BK, tile_m * T::BM);
                    if (T::CLUSTER == 1) {
                        tma_load_2d(stage + T::A_BYTES, &map_b, full + 8 * s, t * T::BK, tile_n * T::BN);
                    } else {                                 // this CTA's share of B, to all
                        const int part = T::BN / T::CLUSTER;
                        tma_load_2d_multicast(stage + T::A_BYTES + rank * part * T::ROW_BYTES, &map_b,
                                              full + 8 * s, t * T::BK, tile_n * T::BN + rank * part,
                                              (unsigned short)((1 << T::CLUSTER) - 1));
                    }
                }
            }
        }
        if (T::CLUSTER > 1) cluster_sync();                  // see the end of the kernel
        return;
    }

    setmaxnreg_inc<T::CONSUMER_REGS>();
    const int cw = wg - 1;                                   // consumer index
    const int warp = (tid & 127) >> 5, lane = tid & 31;
    const bool releaser = (tid & 127) == 0;                  // one arrival per warpgroup
    // slab j of this consumer's share of a tile starts at row first_slab + j (in m64 slabs)
    const int first_slab = T::PINGPONG ? 0 : cw * T::SLABS;
    int it = 0, seq = 0;
    for (int tile = blockIdx.x / T::CLUSTER; tile < tiles; tile += step, ++seq) {
        if (T::PINGPONG && (seq & 1) != cw) {                // the other consumer's tile:
            it += KT;                                        // its stages pass by
            continue;
        }
        // ping-pong: wait for the turn (the other consumer's main loop on the tile before ends)
        if (T::PINGPONG && seq > 0) named_barrier(3 + cw, 256);   // ids 3, 4 (1, 2: the TMA store)
        int tile_m, tile_n;
        tile_coords(tile, cluster_tiles_m, tiles_n, rank, tile_m, tile_n);
        Acc d[T::SLABS][T::ACC_REGS];
#pragma unroll
        for (int j = 0; j < T::SLABS; ++j)
#pragma unroll
            for (int i = 0; i < T::ACC_REGS; ++i) d[j][i] = 0;

        for (int t = 0; t < KT; ++t, ++it) {
            const int s = it % T::STAGES;
            mbar_wait(full + 8 * s, (it / T::STAGES) & 1);
            const u32 stage = base + s * T::STAGE_BYTES;
            const u64 db = desc_k_major_sw128(stage + T::A_BYTES);
            if (T::PROMOTE) {
                // this K tile's partial sum in fresh registers, then added in f32 (SLABS == 1)
                Acc part[T::ACC_REGS];
                wgmma_fence();
                mma_k_tile(part, desc_k_major_sw128(stage + cw * 64 * T::ROW_BYTES), db, true);
                wgmma_commit();
                wgmma_wait<0>();
                if (releaser) release_stage(empty + 8 * s); // this stage is read: free it now
#pragma unroll
                for (int i = 0; i < T::ACC_REGS; ++i) d[0][i] += part[i];
                continue;
            }
            wgmma_fence();
#pragma unroll
            for (int j = 0; j < T::SLABS; ++j)
                mma_k_tile(d[j], desc_k_major_sw128(stage + (first_slab + j) * 64 * T::ROW_BYTES),
                           db, false);
            wgmma_commit();
            wgmma_wait<1>();                                 // the previous K tile's group is done
            if (t > 0 && releaser)
                release_stage(empty + 8 * ((it - 1) % T::STAGES));
        }
        if (!T::PROMOTE) {
            wgmma_wait<0>();
            if (releaser)                                    // the tile's last stage: the producer
                release_stage(empty + 8 * ((it - 1) % T::STAGES)); // refills it during the stores
        }
        // ping-pong: the turn passes to the other consumer, if it has a next tile, while this
        // one stores
        if (T::PINGPONG && tile + step < tiles) named_barrier_arrive(3 + (cw ^ 1), 256);
        if (T::STORE_C) {
            store_slab_tma(d[0], &map_c, staging + cw * T::C_SLAB_BYTES, tile_m * T::BM + cw * 64,
                           tile_n * T::BN, warp, lane, cw, releaser);
            continue;
        }
#pragma unroll
        for (int j = 0; j < T::SLABS; ++j)
            store_slab(d[j], C, M, N,
                       tile_m * T::BM + (first_slab + j) * 64 + warp * 16 + (lane >> 2),
                       tile_n * T::BN, lane);
    }
    if (T::STORE_C && releaser) tma_store_wait_read<0>();   // smem stays valid until read
    // the peer may still arrive on this CTA's barriers or multicast into it: neither CTA leaves
    // before both are done (the producer warpgroup takes part when its loads are issued)
    if (T::CLUSTER > 1) cluster_sync();
}

// FlashAttention-2-style fused attention forward pass, CUDA C++ with inline PTX.
//
// Header-free on purpose: NVRTC compiles it offline with no CUDA headers installed. Raw integer
// types, and every tensor-core / conversion / shared-memory operation is an inline PTX line:
//   mma.sync.aligned.m16n8k16.row.col.{f32.f16.f16.f32 | f16.f16.f16.f16}
//   ldmatrix.sync.aligned.m8n8.x4{.trans}.shared.b16, cp.async.cg.shared.global (+ groups),
//   ex2.approx.ftz.f32, cvt.rn.f16x2.f32, shfl.sync.bfly.b32.
//
// One variant per compilation: mmabench/attention/build.py prepends the ATTN_* #defines (the
// variant's data from mmabench/attention/variants.py). All compile-time choices land in the
// Traits block below, so the kernel body reads like the algorithm:
//
//   for each K/V tile j (cp.async double-buffered, the next K and V in flight):
//       S  = Q K_j^T                      (accumulator f32 or f16; Q optionally pre-scaled)
//       mask the tail / causal diagonal   (only on tiles that need it)
//       m' = max(m, rowmax S); p = exp2(S*c - m'); alpha = exp2(m - m')
//       O  = O * alpha + P V_j            (accumulator f32, f16, or f16 per tile folded into f32)
//       (in-loop normalization: divide by the running row sum every tile instead of once)
//   O /= l  (delayed normalization), store fp16.
//
// Layout: Q, K, V, O are fp16 [batch, heads, seq, dim] contiguous; grid.x = batch*heads,
// grid.y = row blocks, heaviest (causal) row blocks first.

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned long long u64;

#ifndef ATTN_ENTRY
#error "ATTN_ENTRY (and the other ATTN_* macros) come from mmabench/attention/build.py"
#endif
#ifndef ATTN_TILE_ASSERTS
#error "ATTN_TILE_ASSERTS (the tile constraints, mmabench/attention/variants.py TILE_CONSTRAINTS) comes from build.py"
#endif

// ------------------------------------------------------------------------------------------
// Traits: the variant in one place.
// ------------------------------------------------------------------------------------------
struct Traits {
    static constexpr int D = ATTN_D;                    // head dim: 64, 128, 256
    static constexpr int WARPS = ATTN_WARPS;
    static constexpr int MT = ATTN_MT;                  // m16 row tiles per warp (split-Q)
    static constexpr int BR = 16 * MT * WARPS;          // query rows per block
    static constexpr int BC = ATTN_BC;                  // keys per K/V tile
    static constexpr int THREADS = 32 * WARPS;
    static constexpr bool S_F16 = ATTN_S_F16;           // accumulator of S = Q K^T
    static constexpr bool Q_PRESCALE = ATTN_Q_PRESCALE; // softmax scale * log2(e) folded into Q
    static constexpr int O_MODE = ATTN_O_MODE;          // 0 f32, 1 f16, 2 f16 per tile -> f32
    static constexpr bool INLOOP = ATTN_NORM_INLOOP;    // keep O normalized every tile
    static constexpr bool Q_REGS = ATTN_Q_IN_REGS;      // Q fragments held in registers
    static constexpr int MINB = ATTN_MIN_BLOCKS;        // __launch_bounds__ min blocks per SM

    static constexpr int CH = D / 8;                    // 16-byte chunks per row
    static constexpr int KD = D / 16;                   // k16 steps of Q K^T
    static constexpr int NS = BC / 8;                   // n8 tiles of S
    static constexpr int KC = BC / 16;                  // k16 steps of P V
    static constexpr int NO = D / 8;                    // n8 tiles of O
    static constexpr int Q_BYTES = BR * D * 2;
    static constexpr int KV_BYTES = BC * D * 2;
    static constexpr int SMEM_BYTES = Q_BYTES + 4 * KV_BYTES;  // Q, K[2], V[2]

    // The tile constraints are stated once, in mmabench/attention/variants.py (TILE_CONSTRAINTS),
    // which checks them before a build; here they expand to static_asserts over the names above.
    ATTN_TILE_ASSERTS
    static_assert(SMEM_BYTES == ATTN_SMEM_BYTES, "shared memory layout differs from Tiles.smem_bytes");
};
using T = Traits;

#define DEV static __device__ __forceinline__
#define MDEV __device__ __forceinline__  // member functions

DEV int imin(int a, int b) { return a < b ? a : b; }
DEV float bits_to_float(u32 i) { float f; asm("mov.b32 %0, %1;" : "=f"(f) : "r"(i)); return f; }

// ------------------------------------------------------------------------------------------
// PTX wrappers.
// ------------------------------------------------------------------------------------------
DEV u32 smem_addr(const void* p) {
    u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}
// Swizzled offset of 16-byte chunk `ch` of tile row `row`: the 8 rows an ldmatrix phase reads
// land in 8 different bank groups (row stride is a multiple of 128 bytes).
DEV u32 swz(int row, int ch) { return (u32)(row * (T::CH * 16) + ((ch ^ (row & 7)) << 4)); }

DEV void cp_async16(u32 dst, const void* src, bool valid) {
    // src-size 0 zero-fills the 16 bytes: rows past the end of the sequence read as zeros.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                 :: "r"(dst), "l"(src), "r"(valid ? 16 : 0) : "memory");
}
DEV void cp_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N> DEV void cp_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(N) : "memory"); }
DEV void block_sync() { asm volatile("bar.sync 0;\n" ::: "memory"); }
DEV void warp_sync() { asm volatile("bar.warp.sync -1;\n" ::: "memory"); }

DEV void ldsm_x4(u32 (&r)[4], u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
DEV void ldsm_x4_t(u32 (&r)[4], u32 addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
DEV void lds128(u32 (&r)[4], u32 addr) {
    asm volatile("ld.shared.v4.b32 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}
DEV void sts128(u32 addr, const u32 (&r)[4]) {
    asm volatile("st.shared.v4.b32 [%0], {%1,%2,%3,%4};\n"
                 :: "r"(addr), "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3]) : "memory");
}
DEV void sts32(u32 addr, u32 v) { asm volatile("st.shared.b32 [%0], %1;\n" :: "r"(addr), "r"(v) : "memory"); }
DEV void stg128(void* p, const u32 (&r)[4]) {
    asm volatile("st.global.v4.b32 [%0], {%1,%2,%3,%4};\n"
                 :: "l"(p), "r"(r[0]), "r"(r[1]), "r"(r[2]), "r"(r[3]) : "memory");
}

DEV float ex2(float x) { float y; asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
DEV float rcp(float x) { float y; asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
DEV float fmax_(float a, float b) { float y; asm("max.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b)); return y; }
DEV u32 hmax2(u32 a, u32 b) { u32 y; asm("max.f16x2 %0, %1, %2;" : "=r"(y) : "r"(a), "r"(b)); return y; }
DEV u32 hmul2(u32 a, u32 b) { u32 y; asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(y) : "r"(a), "r"(b)); return y; }
DEV float shfl_xor(float v, int lane_mask) {
    float y;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, -1;" : "=f"(y) : "f"(v), "r"(lane_mask));
    return y;
}
// f16x2 {lo, hi} <-> two floats (cvt.rn.f16x2.f32 puts its first source in the upper half).
DEV u32 pack(float lo, float hi) { u32 y; asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(y) : "f"(hi), "f"(lo)); return y; }
DEV void unpack(u32 v, float& lo, float& hi) {
    asm("{ .reg .f16 l, h; mov.b32 {l, h}, %2; cvt.f32.f16 %0, l; cvt.f32.f16 %1, h; }"
        : "=f"(lo), "=f"(hi) : "r"(v));
}

// ------------------------------------------------------------------------------------------
// One m16n8 accumulator tile, f32 (4 registers) or f16 (2 registers), and its mma.
// Element i = 0..3: (row g, col 2t), (row g, col 2t+1), (row g+8, col 2t), (row g+8, col 2t+1)
// with g = lane / 4, t = lane % 4.
// ------------------------------------------------------------------------------------------
template <bool F16> struct Acc;
template <> struct Acc<false> {
    float x[4];
    MDEV void zero() { x[0] = x[1] = x[2] = x[3] = 0.f; }
    MDEV void mma(const u32 (&a)[4], u32 b0, u32 b1) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(x[0]), "+f"(x[1]), "+f"(x[2]), "+f"(x[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    MDEV void get(float (&v)[4]) const { v[0] = x[0]; v[1] = x[1]; v[2] = x[2]; v[3] = x[3]; }
    MDEV void scale_rows(float s0, float s1) { x[0] *= s0; x[1] *= s0; x[2] *= s1; x[3] *= s1; }
    MDEV void rowmax(float& m0, float& m1) const { m0 = fmax_(m0, fmax_(x[0], x[1])); m1 = fmax_(m1, fmax_(x[2], x[3])); }
    MDEV void mask(bool k0, bool k1, bool k2, bool k3) {
        const float ninf = bits_to_float(0xff800000u);
        x[0] = k0 ? x[0] : ninf;
        x[1] = k1 ? x[1] : ninf;
        x[2] = k2 ? x[2] : ninf;
        x[3] = k3 ? x[3] : ninf;
    }
};
template <> struct Acc<true> {
    u32 x[2];
    MDEV void zero() { x[0] = x[1] = 0u; }
    MDEV void mma(const u32 (&a)[4], u32 b0, u32 b1) {
        asm("mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3,%4,%5}, {%6,%7}, {%0,%1};\n"
            : "+r"(x[0]), "+r"(x[1])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    MDEV void get(float (&v)[4]) const { unpack(x[0], v[0], v[1]); unpack(x[1], v[2], v[3]); }
    MDEV void scale_rows(float s0, float s1) { x[0] = hmul2(x[0], pack(s0, s0)); x[1] = hmul2(x[1], pack(s1, s1)); }
    MDEV void rowmax(float& m0, float& m1) const {
        // max of the pair in f16 (exact), then one conversion per row half
        u32 p = hmax2(x[0], x[0] >> 16 | x[0] << 16), q = hmax2(x[1], x[1] >> 16 | x[1] << 16);
        float a, b, c, d;
        unpack(p, a, b);
        unpack(q, c, d);
        m0 = fmax_(m0, a); m1 = fmax_(m1, c);
    }
    MDEV void mask(bool k0, bool k1, bool k2, bool k3) {
        const u32 NINF = 0xfc00u;  // -inf in f16
        x[0] = (k0 ? (x[0] & 0xffffu) : NINF) | (k1 ? (x[0] & 0xffff0000u) : (NINF << 16));
        x[1] = (k2 ? (x[1] & 0xffffu) : NINF) | (k3 ? (x[1] & 0xffff0000u) : (NINF << 16));
    }
};

using SAcc = Acc<T::S_F16>;
using OAcc = Acc<T::O_MODE == 1>;   // f32 for O_MODE 0 and 2 (the folded total)

// ------------------------------------------------------------------------------------------
// Tile movement.
// ------------------------------------------------------------------------------------------
// ROWS rows of a [rows, D] tile starting at `g` into a swizzled shared tile; rows at or past
// `rows_left` are zero-filled (sequence tail). Each thread always copies the same 16-byte column
// chunk, so its addresses are one base plus immediates.
template <int ROWS>
DEV void load_tile(u32 s_tile, const u16* g, int rows_left, int tid) {
    constexpr int R = T::THREADS / T::CH;        // rows covered by one pass of the block
    // implied by TILE_CONSTRAINTS for ROWS = BR, BC (THREADS % CH, (ROWS * CH) % THREADS)
    static_assert(T::THREADS % T::CH == 0 && ROWS % R == 0, "tile rows must split over passes");
    const int c = tid % T::CH, r = tid / T::CH;
    const u16* src = g + r * T::D + c * 8;
    const u32 dst = s_tile + swz(r, c);
    if (rows_left >= ROWS) {                      // whole tile inside the sequence: no predicates
#pragma unroll
        for (int i = 0; i < ROWS / R; ++i) {
            const u32 d = (R % 8 == 0) ? dst + i * R * T::CH * 16 : s_tile + swz(r + i * R, c);
            cp_async16(d, src + i * R * T::D, true);
        }
    } else {
#pragma unroll
        for (int i = 0; i < ROWS / R; ++i) {
            const int row = r + i * R;
            const bool ok = row < rows_left;
            // (row & 7) is r's when R is a multiple of 8: the swizzled offset is then an immediate
            const u32 d = (R % 8 == 0) ? dst + i * R * T::CH * 16 : s_tile + swz(row, c);
            cp_async16(d, ok ? src + i * R * T::D : g, ok);
        }
    }
}

// Per-lane ldmatrix addresses. swz(row, ch) only XORs the chunk bits with (row & 7), and tile
// bases are aligned to a row (checked at entry), so stepping 16 rows is an added immediate and
// stepping chunk 2c -> 2c + 2k is an XOR of the address with (k << 5): one LOP3 per ldmatrix.
constexpr u32 ROWB = T::CH * 16;                  // bytes per tile row
// Q as A operand (16x16 at rows r..r+15, k16 step kk): lanes 0-15 rows, lanes 16-31 the +8 chunk
DEV u32 q_lane_off(int wrow, int lane) { return swz(wrow + (lane & 15), lane >> 4); }
// K as B operand (n-tiles 2np, 2np+1 at k16 step kk)
DEV u32 k_lane_off(int lane) { return swz((lane & 7) + ((lane >> 4) << 3), (lane >> 3) & 1); }
// V as B operand, transposed (keys 16kk.., n-tiles 2np, 2np+1)
DEV u32 v_lane_off(int lane) { return swz((lane & 7) + (((lane >> 3) & 1) << 3), lane >> 4); }

DEV void load_q_frag(u32 (&a)[4], u32 q_base, int mt, int kk) {
    ldsm_x4(a, (q_base ^ (kk << 5)) + mt * 16 * ROWB);
}

// S (+)= Q K^T for this warp's MT m-tiles over one K tile. q_base = sQ + q_lane_off,
// k_base = sK + k_lane_off.
DEV void gemm_qk(SAcc (&S)[T::MT][T::NS], u32 q_base, u32 k_base,
                 const u32 (&qreg)[T::Q_REGS ? T::MT : 1][T::Q_REGS ? T::KD : 1][4]) {
#pragma unroll
    for (int kk = 0; kk < T::KD; ++kk) {
        u32 a[T::MT][4];
#pragma unroll
        for (int mt = 0; mt < T::MT; ++mt) {
            if constexpr (T::Q_REGS) {
#pragma unroll
                for (int r = 0; r < 4; ++r) a[mt][r] = qreg[mt][kk][r];
            } else {
                load_q_frag(a[mt], q_base, mt, kk);
            }
        }
        const u32 k_kk = k_base ^ (kk << 5);
#pragma unroll
        for (int np = 0; np < T::NS / 2; ++np) {
            u32 b[4];  // n-tiles 2np, 2np+1 (keys 16np..16np+15), k16 step kk
            ldsm_x4(b, k_kk + np * 16 * ROWB);
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt) {
                S[mt][2 * np].mma(a[mt], b[0], b[1]);
                S[mt][2 * np + 1].mma(a[mt], b[2], b[3]);
            }
        }
    }
}

// acc (+)= P V over one V tile; P is the A operand straight from registers. v_base = sV + v_lane_off.
template <class Frag>
DEV void gemm_pv(Frag (&acc)[T::MT][T::NO], const u32 (&P)[T::MT][T::KC][4], u32 v_base) {
#pragma unroll
    for (int kk = 0; kk < T::KC; ++kk) {
#pragma unroll
        for (int np = 0; np < T::NO / 2; ++np) {
            u32 b[4];  // keys 16kk..16kk+15, dims 16np..16np+15 (n-tiles 2np, 2np+1)
            ldsm_x4_t(b, (v_base ^ (np << 5)) + kk * 16 * ROWB);
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt) {
                acc[mt][2 * np].mma(P[mt][kk], b[0], b[1]);
                acc[mt][2 * np + 1].mma(P[mt][kk], b[2], b[3]);
            }
        }
    }
}

DEV bool warp_any(bool p) {
    u32 r;
    asm volatile("{ .reg .pred p, q; setp.ne.u32 p, %1, 0; vote.sync.any.pred q, p, -1; selp.u32 %0, 1, 0, q; }"
                 : "=r"(r) : "r"((u32)p));
    return r != 0;
}
DEV void trap() { asm volatile("trap;"); }

DEV float quad_max(float v) { v = fmax_(v, shfl_xor(v, 1)); return fmax_(v, shfl_xor(v, 2)); }
DEV float quad_sum(float v) { v += shfl_xor(v, 1); return v + shfl_xor(v, 2); }

// ------------------------------------------------------------------------------------------
// The kernel.
// ------------------------------------------------------------------------------------------
extern "C" __global__ void __launch_bounds__(T::THREADS, T::MINB)
ATTN_ENTRY(const u16* __restrict__ Q, const u16* __restrict__ K, const u16* __restrict__ V,
           u16* __restrict__ O, int n, int causal, float scale_log2)
{
    extern __shared__ __attribute__((aligned(128))) unsigned char smem[];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int m0 = (gridDim.y - 1 - blockIdx.y) * T::BR;      // heaviest causal blocks first
    const size_t head = (size_t)blockIdx.x * (size_t)n * T::D;
    const u16* q = Q + head;
    const u16* k = K + head;
    const u16* v = V + head;
    u16* o = O + head;

    const u32 sQ = smem_addr(smem);
    if (sQ & (ROWB - 1)) trap();                               // the XOR addressing needs it
    const u32 sK0 = sQ + T::Q_BYTES, sV0 = sK0 + 2 * T::KV_BYTES;
    const int wrow = warp * T::MT * 16;                        // this warp's first row in the block
    const u32 q_base = sQ + q_lane_off(wrow, lane);
    const u32 k_off = k_lane_off(lane), v_off = v_lane_off(lane);

    const int kv_end = causal ? imin(n, m0 + T::BR) : n;
    const int n_tiles = (kv_end + T::BC - 1) / T::BC;

    // Prologue: groups Q | K0 | V0.
    load_tile<T::BR>(sQ, q + (size_t)m0 * T::D, n - m0, tid);
    cp_commit();
    load_tile<T::BC>(sK0, k, n, tid);
    cp_commit();
    load_tile<T::BC>(sV0, v, n, tid);
    cp_commit();

    // Softmax in log2 units: c * s where c = scale*log2(e) (or 1 when folded into Q).
    const float c = T::Q_PRESCALE ? 1.0f : scale_log2;

    u32 qreg[T::Q_REGS ? T::MT : 1][T::Q_REGS ? T::KD : 1][4];
    if constexpr (T::Q_PRESCALE || T::Q_REGS) {
        cp_wait<2>();  // Q landed (K0, V0 may still be in flight)
        if constexpr (T::Q_PRESCALE) {
            // Each thread rescales the chunks it copied itself (visible to it after the wait).
#pragma unroll
            for (int i = 0; i < T::BR * T::CH / T::THREADS; ++i) {
                const int idx = tid + i * T::THREADS;
                const u32 addr = sQ + swz(idx / T::CH, idx % T::CH);
                u32 w[4];
                lds128(w, addr);
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    float lo, hi;
                    unpack(w[e], lo, hi);
                    w[e] = pack(lo * scale_log2, hi * scale_log2);
                }
                sts128(addr, w);
            }
        }
        block_sync();
        if constexpr (T::Q_REGS) {
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
                for (int kk = 0; kk < T::KD; ++kk) load_q_frag(qreg[mt][kk], q_base, mt, kk);
        }
    }

    const float NEG_INF = bits_to_float(0xff800000u);
    float m_i[T::MT][2], l_i[T::MT][2];
    OAcc acc[T::MT][T::NO];
#pragma unroll
    for (int mt = 0; mt < T::MT; ++mt) {
        m_i[mt][0] = m_i[mt][1] = NEG_INF;
        l_i[mt][0] = l_i[mt][1] = 0.f;
#pragma unroll
        for (int nt = 0; nt < T::NO; ++nt) acc[mt][nt].zero();
    }

    for (int j = 0; j < n_tiles; ++j) {
        const int buf = j & 1;
        const u32 sK = sK0 + buf * T::KV_BYTES, sV = sV0 + buf * T::KV_BYTES;
        const int n0 = j * T::BC;

        // Prefetch K_{j+1} into the other buffer (its readers passed the barrier before P V_{j-1}).
        if (j + 1 < n_tiles)
            load_tile<T::BC>(sK0 + (buf ^ 1) * T::KV_BYTES, k + (size_t)(n0 + T::BC) * T::D, n - n0 - T::BC, tid);
        cp_commit();
        cp_wait<2>();          // K_j landed; V_j and K_{j+1} may be in flight
        block_sync();

        // ---- S = Q K_j^T ----
        SAcc S[T::MT][T::NS];
#pragma unroll
        for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
            for (int nt = 0; nt < T::NS; ++nt) S[mt][nt].zero();
        gemm_qk(S, q_base, sK + k_off, qreg);

        // ---- mask the sequence tail and the causal diagonal (only tiles that reach them) ----
        if (n0 + T::BC > n || (causal && n0 + T::BC - 1 > m0)) {
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt) {
                const int r0 = m0 + wrow + 16 * mt + g, r1 = r0 + 8;
                const int lim0 = causal ? imin(n - 1, r0) : n - 1;   // last visible key
                const int lim1 = causal ? imin(n - 1, r1) : n - 1;
#pragma unroll
                for (int nt = 0; nt < T::NS; ++nt) {
                    const int col = n0 + 8 * nt + 2 * t;
                    S[mt][nt].mask(col <= lim0, col + 1 <= lim0, col <= lim1, col + 1 <= lim1);
                }
            }
        }

        // ---- online softmax: new row max, P = exp2(c*S - m), rescale factors ----
        u32 P[T::MT][T::KC][4];
        float o_scale[T::MT][2];
        bool rescale = false;
#pragma unroll
        for (int mt = 0; mt < T::MT; ++mt) {
            float mx[2] = {NEG_INF, NEG_INF};
#pragma unroll
            for (int nt = 0; nt < T::NS; ++nt) S[mt][nt].rowmax(mx[0], mx[1]);
            float mnew[2], alpha[2], rs[2] = {0.f, 0.f};
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                mnew[h] = fmax_(m_i[mt][h], quad_max(mx[h]) * c);
                // a row with no visible key yet keeps m = -inf: subtract 0 instead (p = 0)
                const float mref = mnew[h] == NEG_INF ? 0.f : mnew[h];
                const bool moved = m_i[mt][h] != mnew[h];
                alpha[h] = moved ? ex2(m_i[mt][h] - mref) : 1.f;
                rescale |= moved;
                m_i[mt][h] = mnew[h];
                mnew[h] = mref;
            }
            float p[T::NS][4];
#pragma unroll
            for (int nt = 0; nt < T::NS; ++nt) {
                S[mt][nt].get(p[nt]);
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    p[nt][e] = ex2(p[nt][e] * c - mnew[e >> 1]);
                    rs[e >> 1] += p[nt][e];
                }
            }
            if constexpr (T::INLOOP) {
                // O stays normalized: O <- (O * l * alpha + P V) / l_new, P scaled by 1 / l_new.
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const float lold = l_i[mt][h] * alpha[h];
                    const float lnew = lold + quad_sum(rs[h]);
                    const float r = rcp(lnew);
                    l_i[mt][h] = lnew;
                    o_scale[mt][h] = lold * r;
                    rs[h] = r;
                }
#pragma unroll
                for (int nt = 0; nt < T::NS; ++nt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) p[nt][e] *= rs[e >> 1];
            } else {
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    l_i[mt][h] = l_i[mt][h] * alpha[h] + rs[h];   // thread-partial; quad sum at the end
                    o_scale[mt][h] = alpha[h];
                }
            }
            // C fragments of n-tiles 2kk, 2kk+1 = A fragment of k16 step kk.
#pragma unroll
            for (int kk = 0; kk < T::KC; ++kk) {
                P[mt][kk][0] = pack(p[2 * kk][0], p[2 * kk][1]);
                P[mt][kk][1] = pack(p[2 * kk][2], p[2 * kk][3]);
                P[mt][kk][2] = pack(p[2 * kk + 1][0], p[2 * kk + 1][1]);
                P[mt][kk][3] = pack(p[2 * kk + 1][2], p[2 * kk + 1][3]);
            }
        }

        // Prefetch V_{j+1} (its buffer's readers passed the barrier at the top of this tile).
        if (j + 1 < n_tiles)
            load_tile<T::BC>(sV0 + (buf ^ 1) * T::KV_BYTES, v + (size_t)(n0 + T::BC) * T::D, n - n0 - T::BC, tid);
        cp_commit();
        cp_wait<2>();          // V_j landed
        block_sync();

        // ---- O = O * scale + P V_j ----
        if constexpr (T::O_MODE == 2) {
            Acc<true> part[T::MT][T::NO];   // f16 partial over this tile's keys only
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < T::NO; ++nt) part[mt][nt].zero();
            gemm_pv(part, P, sV + v_off);
#pragma unroll
            for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < T::NO; ++nt) {
                    float pv[4];
                    part[mt][nt].get(pv);
#pragma unroll
                    for (int e = 0; e < 4; ++e)
                        acc[mt][nt].x[e] = acc[mt][nt].x[e] * o_scale[mt][e >> 1] + pv[e];
                }
        } else {
            // Delayed normalization: O changes only where a row max moved (alpha != 1); once the
            // maxima settle, whole warps skip the rescale (exact: the skipped factor is 1).
            if (T::INLOOP || warp_any(rescale)) {
#pragma unroll
                for (int mt = 0; mt < T::MT; ++mt)
#pragma unroll
                    for (int nt = 0; nt < T::NO; ++nt) acc[mt][nt].scale_rows(o_scale[mt][0], o_scale[mt][1]);
            }
            gemm_pv(acc, P, sV + v_off);
        }
    }

    // ---- epilogue: normalize, stage through this warp's own Q rows, coalesced 16-byte stores ----
    warp_sync();
#pragma unroll
    for (int mt = 0; mt < T::MT; ++mt) {
        float inv[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            if constexpr (T::INLOOP) {
                inv[h] = 1.f;
            } else {
                const float l = quad_sum(l_i[mt][h]);
                inv[h] = l > 0.f ? 1.f / l : 0.f;
            }
        }
        const int r = wrow + 16 * mt + g;
#pragma unroll
        for (int nt = 0; nt < T::NO; ++nt) {
            float x[4];
            acc[mt][nt].get(x);
            sts32(sQ + swz(r, nt) + 4 * t, pack(x[0] * inv[0], x[1] * inv[0]));
            sts32(sQ + swz(r + 8, nt) + 4 * t, pack(x[2] * inv[1], x[3] * inv[1]));
        }
    }
    warp_sync();
#pragma unroll
    for (int i = 0; i < 16 * T::MT * T::CH / 32; ++i) {
        const int idx = lane + 32 * i;
        const int r = idx / T::CH, ch = idx % T::CH;
        const int row = m0 + wrow + r;
        u32 w[4];
        lds128(w, sQ + swz(wrow + r, ch));
        if (row < n) stg128(o + (size_t)row * T::D + ch * 8, w);
    }
}

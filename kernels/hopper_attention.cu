// FlashAttention-3-class fused attention forward for Hopper (sm_90a): TMA loads completing on
// mbarriers, a producer warpgroup and one consumer warpgroup per 64 query rows, wgmma for both
// matmuls (S = Q.K^T from shared memory, O += P.V with P from registers), and the output through
// shared memory with a TMA store. Either accumulator in each matmul.
//
// Header-free for NVRTC; the Hopper building blocks (TMA, mbarriers, named barriers, setmaxnreg,
// descriptors) are kernels/hopper.cuh's, shared with the TMA GEMM. One variant per compilation:
// mmabench/attention/build.py prepends the HATTN_* #defines and the wgmma wrappers of the
// variant's shapes (mmabench/hopper/wgmma_wrappers.py).
//
//   CTA = (64 * CONSUMERS query rows of one (batch, head)); 128 * (1 + CONSUMERS) threads.
//   Warpgroup 0, the producer (setmaxnreg.dec): one thread loads Q once, then K_j and V_j of each
//     K/V tile into a ring of STAGES stages, each announced on its own "full" barrier (K and V
//     apart, so S = Q.K^T starts before V lands), and refills a stage when every consumer has
//     released it ("empty").
//   Warpgroups 1.., the consumers (setmaxnreg.inc), 64 query rows each, in FA3's intra-warpgroup
//   order:
//       issue S_j = Q K_j^T; issue O += P_{j-1} V_{j-1}; wait for S_j
//       softmax of S_j (mask, row max, exp2, row sum), meant to run while P_{j-1} V_{j-1} does
//       (ptxas hoists the P V wait above it unless the OVERLAP option keeps it below)
//       wait for P V; release stage j-1; O *= alpha_j; P_j = f16(p)
//   then O /= l, staged as f16 in the warpgroup's own Q rows, and a TMA store (rows past N are
//   not written).
//
// Options (HATTN_*): S in f32 or f16 with Q pre-scaled; the softmax in f32 or packed f16x2 on
// the f16 S (SOFTMAX_F16X2); O in f32, f16 or f16 partials folded into f32; normalization delayed
// or in the loop; OVERLAP; POLY eighths of the exp2 by a polynomial on the FMA pipe; PINGPONG
// turns between the consumer warpgroups; LAZY conditional rescaling of O.
//
// Q, K, V, O: fp16 [batch, heads, seq, d], contiguous, seen by TMA as 3-D tensors (d, seq,
// batch*heads), so a tile past the end of a sequence reads zeros (keys past N: masked to -inf)
// and never the next head's rows. grid.x = row blocks (heaviest causal ones first), grid.y =
// batch * heads.

#include "hopper.cuh"

#ifndef HATTN_ENTRY
#error "HATTN_ENTRY (and the other HATTN_* macros) come from mmabench/attention/build.py"
#endif

HATTN_WGMMA_WRAPPERS

struct Traits {
    static constexpr int D = HATTN_D;                    // head dim: 64, 128, 256
    static constexpr int BC = HATTN_BC;                  // keys per K/V tile
    static constexpr int CONSUMERS = HATTN_CONSUMERS;    // consumer warpgroups, 64 rows each
    static constexpr int STAGES = HATTN_STAGES;          // K/V ring
    static constexpr bool S_F16 = HATTN_S_F16;           // S in f16, Q pre-scaled by scale*log2(e)
    static constexpr int O_MODE = HATTN_O_MODE;          // 0 f32, 1 f16, 2 f16 per tile -> f32
    static constexpr bool INLOOP = HATTN_NORM_INLOOP;    // O kept normalized every tile
    // the tile options, as enumerators: no global symbol in the PTX, so a variant without them
    // compiles to the same PTX as before they existed
    enum {
        OVERLAP = HATTN_OVERLAP,                         // keep the softmax ahead of the P.V wait
        SOFTMAX_F16X2 = HATTN_SOFTMAX_F16X2,             // the softmax packed, on the f16 S
        POLY = HATTN_POLY_EXP,                           // eighths of the exp2 done on the FMA pipe
        PINGPONG = HATTN_PINGPONG,                       // the consumers take turns issuing wgmmas
        LAZY = HATTN_LAZY_RESCALE,                       // O rescaled only when a row maximum jumps
        // LAZY: how far (log2 units) a row maximum may rise before m, l and O follow it; p =
        // exp2(s - m) then reaches 2^TAU, which an f16 O pays in headroom: less there
        LAZY_TAU = HATTN_LAZY_TAU,                       // variants.lazy_tau
        TURN_BAR = 1 + HATTN_CONSUMERS,                  // ping-pong: named barriers TURN_BAR + cw
    };
    static constexpr int BR = 64 * CONSUMERS;            // query rows per CTA
    static constexpr int THREADS = 128 * (1 + CONSUMERS);
    static constexpr int BOXES = D / 64;                 // 64-column (128-byte, swizzled) boxes
    static constexpr int Q_BOX = BR * 128, KV_BOX = BC * 128;
    static constexpr int Q_BYTES = BOXES * Q_BOX, KV_BYTES = BOXES * KV_BOX;
    static constexpr int STAGE_BYTES = 2 * KV_BYTES;     // K then V
    static constexpr int BARRIERS = 1 + 3 * STAGES;      // Q, full K, full V, empty
    static constexpr int SMEM_BYTES = 1024 + Q_BYTES + STAGES * STAGE_BYTES + 8 * BARRIERS;
    static constexpr int KD = D / 16;                    // k16 steps of Q.K^T
    static constexpr int KC = BC / 16;                   // k16 steps of P.V
    // 65,536 registers: producer 24 per thread, the consumers share the rest (multiples of 8)
    static constexpr int PRODUCER_REGS = 24;
    static constexpr int CONSUMER_REGS = CONSUMERS == 2 ? 240 : 160;
    static_assert(D % 64 == 0 && D <= 256, "d is 64, 128 or 256");
    static_assert(BC % 16 == 0 && BC <= 256, "keys per tile: a multiple of 16, at most 256");
    static_assert(CONSUMERS == 2 || CONSUMERS == 3, "2 or 3 consumer warpgroups");
    static_assert(128 * PRODUCER_REGS + 128 * CONSUMERS * CONSUMER_REGS <= 65536, "register file");
    static_assert(SMEM_BYTES == HATTN_SMEM_BYTES, "shared memory layout differs from HopperTiles.smem_bytes");
    static_assert(!SOFTMAX_F16X2 || S_F16, "a packed softmax needs the f16 S accumulator");
    static_assert(!LAZY || (!INLOOP && O_MODE != 2), "lazy rescaling: delayed normalization, O f32 or f16");
    static_assert(POLY >= 0 && POLY <= 8, "POLY: 0..8 eighths");
    static_assert(!(POLY && SOFTMAX_F16X2 && LAZY && LAZY_TAU > HATTN_POLY_F16_MAX_X),
                  "the packed exp2 polynomial takes x <= HATTN_POLY_F16_MAX_X: not with lazy's tau");
};
using T = Traits;

typedef WgmmaSS<T::BC, T::S_F16> SMma;
typedef WgmmaRS<T::D, T::O_MODE != 0> OMma;              // O_MODE 2: f16 partials
typedef SMma::Acc SAcc;
static constexpr int S_ELEMS = T::BC / 2;                // S values per thread (2 rows)
static constexpr int O_ELEMS = T::D / 2;                 // O values per thread

DEV float ex2(float x) { float y; asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
DEV float rcp(float x) { float y; asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
DEV float shfl_xor(float v, int lane_mask) {
    float y;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, -1;" : "=f"(y) : "f"(v), "r"(lane_mask));
    return y;
}
DEV float quad_max(float v) { v = fmaxf(v, shfl_xor(v, 1)); return fmaxf(v, shfl_xor(v, 2)); }
DEV float quad_sum(float v) { v += shfl_xor(v, 1); return v + shfl_xor(v, 2); }
DEV void unpack_f16x2(u32 v, float& lo, float& hi) {
    asm("{ .reg .f16 l, h; mov.b32 {l, h}, %2; cvt.f32.f16 %0, l; cvt.f32.f16 %1, h; }"
        : "=f"(lo), "=f"(hi) : "r"(v));
}
DEV u32 hmul2(u32 a, u32 b) { u32 y; asm("mul.rn.f16x2 %0, %1, %2;" : "=r"(y) : "r"(a), "r"(b)); return y; }
DEV u32 ld_shared_b32(u32 addr) { u32 v; asm volatile("ld.shared.b32 %0, [%1];" : "=r"(v) : "r"(addr)); return v; }

// Accumulator fragment of m64nN (per warp m16 x N): element i of a thread is row
// 16 * warp + lane / 4 + 8 * ((i >> 1) & 1), column 8 * (i >> 2) + 2 * (lane % 4) + (i & 1);
// an f16 accumulator packs elements 2r, 2r + 1 in register r. Four consecutive n8 column blocks'
// worth of S (elements 8k .. 8k + 7) is the A fragment of P.V's k16 step k.

// S = Q K^T over the whole head dim: KD wgmma k16 steps (4 per 128-byte box)
DEV void issue_s(SAcc* s, u32 q_slab, u32 k_tile) {
#pragma unroll
    for (int kk = 0; kk < T::KD; ++kk) {
        const int box = kk / 4, step = 2 * (kk % 4);    // +32 bytes along the swizzled row
        SMma::mma(s, desc_k_major_sw128(q_slab + box * T::Q_BOX) + step,
                  desc_k_major_sw128(k_tile + box * T::KV_BOX) + step, kk > 0);
    }
}

// O (+)= P V over one tile: KC k16 steps (16 keys = 16 rows of V = 2048 bytes each)
DEV void issue_pv(OMma::Acc* o, const u32 (&P)[T::KC][4], u32 v_tile, bool fresh) {
#pragma unroll
    for (int kk = 0; kk < T::KC; ++kk)
        OMma::mma(o, P[kk], desc_mn_major_sw128(v_tile + kk * 2048, T::KV_BOX), fresh && kk == 0 ? 0 : 1);
}

// Online softmax, in log2 units: the new row maxima m (from this tile's maxima mx, times c =
// scale * log2(e), or 1 when folded into Q) and alpha = exp2(m_old - m_new). LAZY (FlashAttention-4's
// conditional rescaling): m stays unless the maximum rises by more than LAZY_TAU, and alpha is
// then exactly 1 (the quad agrees: its four threads hold the same maxima).
DEV void update_max(float (&m)[2], const float (&mx)[2], float c, float (&alpha)[2]) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        // key 0 is visible to every row, so m is finite from the first tile on
        const float mnew = fmaxf(m[h], quad_max(mx[h]) * c);
        const bool keep = T::LAZY && mnew - m[h] <= T::LAZY_TAU;   // -inf before the first tile: never
        alpha[h] = keep ? 1.f : ex2(m[h] - mnew);    // m = -inf before the first tile: 0
        m[h] = keep ? m[h] : mnew;
    }
}

// whether any thread of the warp has `p` (vote.any: the warp takes a branch as one)
DEV bool warp_any(bool p) {
    u32 y;
    asm volatile("{\n .reg .pred a, b;\n setp.ne.u32 a, %1, 0;\n vote.sync.any.pred b, a, 0xffffffff;\n"
                 " selp.u32 %0, 1, 0, b;\n}\n" : "=r"(y) : "r"((u32)p));
    return y != 0;
}

// The row sums l after a tile whose p sums to rs (thread-partial) and what O must be multiplied
// by before the tile's P.V is added (o_scale); rs becomes the factor p is to be scaled by (1
// unless normalized in the loop).
DEV void update_rows(float (&l)[2], float (&o_scale)[2], const float (&alpha)[2], float (&rs)[2]) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        if (T::INLOOP) {
            // O stays normalized: O <- (O * l * alpha + P V) / l_new, P scaled by 1 / l_new
            const float lold = l[h] * alpha[h], lnew = lold + quad_sum(rs[h]), r = rcp(lnew);
            l[h] = lnew;
            o_scale[h] = lold * r;
            rs[h] = r;
        } else {
            l[h] = l[h] * alpha[h] + rs[h];              // thread-partial; summed over the quad at the end
            o_scale[h] = alpha[h];
            rs[h] = 1.f;
        }
    }
}

DEV bool hidden(int key, int row, int n, bool causal) { return key >= n || (causal && key > row); }

DEV float add_rn(float a, float b) { float y; asm("add.rn.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b)); return y; }
DEV float sub_rn(float a, float b) { float y; asm("sub.rn.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b)); return y; }

// exp2 on the FMA and integer pipes instead of MUFU (FlashAttention-4's lever): x = r + f with r
// the nearest integer (the 1.5 * 2^23 rounding trick, in add.rn so that fast math cannot fold it)
// and f in [-1/2, 1/2]; 2^f by a degree-3 polynomial (max relative error 7.5e-5, under the f16
// rounding P gets anyway); 2^r added to the exponent bits. x below -125 (masked keys) gives
// 2^-125, which P's f16 rounds to 0. The coefficients, the same arithmetic in numpy and its
// check: mmabench/attention/poly_exp.py.
DEV float ex2_poly(float x) {
    const float t = add_rn(fmaxf(x, -125.f), 12582912.f);   // r in the low mantissa bits of t
    const float f = sub_rn(fmaxf(x, -125.f), sub_rn(t, 12582912.f));
    const float p = fmaf(fmaf(fmaf(HATTN_POLY_C3, f, HATTN_POLY_C2), f, HATTN_POLY_C1), f, HATTN_POLY_C0);
    return __int_as_float(__float_as_int(p) + (__float_as_int(t) << 23));
}

// One tile of S in f32 (in place: s becomes p).
DEV void softmax_tile(float (&s)[S_ELEMS], float (&m)[2], float (&l)[2], float (&o_scale)[2],
                      float c, bool masked, int key0, int n, bool causal, int row0, int lane) {
    const float NEG_INF = __int_as_float(0xff800000);
    if (masked) {
#pragma unroll
        for (int i = 0; i < S_ELEMS; ++i)
            if (hidden(key0 + 8 * (i >> 2) + 2 * (lane & 3) + (i & 1), row0 + 8 * ((i >> 1) & 1), n, causal))
                s[i] = NEG_INF;
    }
    float mx[2] = {NEG_INF, NEG_INF}, alpha[2], rs[2] = {0.f, 0.f};
#pragma unroll
    for (int i = 0; i < S_ELEMS; ++i) mx[(i >> 1) & 1] = fmaxf(mx[(i >> 1) & 1], s[i]);
    update_max(m, mx, c, alpha);
#pragma unroll
    for (int i = 0; i < S_ELEMS; ++i) {
        const int h = (i >> 1) & 1;
        const float x = fmaf(s[i], c, -m[h]);
        // POLY of every 8 column blocks of 8 keys on the FMA pipe, the rest on MUFU
        s[i] = ((i >> 2) % 8 < T::POLY) ? ex2_poly(x) : ex2(x);
        rs[h] += s[i];
    }
    update_rows(l, o_scale, alpha, rs);
    if (T::INLOOP) {
#pragma unroll
        for (int i = 0; i < S_ELEMS; ++i) s[i] *= rs[(i >> 1) & 1];
    }
}

DEV u32 hmax2(u32 a, u32 b) { u32 y; asm("max.f16x2 %0, %1, %2;" : "=r"(y) : "r"(a), "r"(b)); return y; }
DEV u32 hadd2(u32 a, u32 b) { u32 y; asm("add.rn.f16x2 %0, %1, %2;" : "=r"(y) : "r"(a), "r"(b)); return y; }
DEV u32 ex2_f16x2(u32 a) { u32 y; asm("ex2.approx.f16x2 %0, %1;" : "=r"(y) : "r"(a)); return y; }
DEV u32 hsub2(u32 a, u32 b) { u32 y; asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(y) : "r"(a), "r"(b)); return y; }
DEV u32 hfma2(u32 a, u32 b, u32 c) {
    u32 y;
    asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(y) : "r"(a), "r"(b), "r"(c));
    return y;
}

// ex2_poly for two f16 at once (3 HFMA2 per pair where the f32 form takes 3 FFMA per key). f16's
// exponent cannot hold 2^-25 or r below -14, so x is clamped at -25 (masked keys), t's low 5 bits
// hold r + 25 (>= 0: no borrow between the halves), 13 comes off the exponent field instead, and
// one multiply by 2^-12 rounds the result into f16's subnormals (2^-25 * c0 to 0). x <= 3 keeps
// the field <= 30. Constants and the same arithmetic in numpy: mmabench/attention/poly_exp.py.
DEV u32 ex2_poly_f16x2(u32 x) {
    x = hmax2(x, HATTN_POLY_H_LOWEST);
    const u32 t = hadd2(x, HATTN_POLY_H_MAGIC);                  // 1536 + 25 + r
    const u32 f = hsub2(x, hsub2(t, HATTN_POLY_H_MAGIC));
    const u32 p = hfma2(hfma2(hfma2(HATTN_POLY_H3, f, HATTN_POLY_H2), f, HATTN_POLY_H1), f, HATTN_POLY_H0);
    return hmul2(p + ((t << 10) & 0x7C007C00u) - HATTN_POLY_H_OFFSET, HATTN_POLY_H_SCALE);
}

// One tile of S accumulated in f16 with Q pre-scaled (S holds log2-scaled logits), the softmax
// in packed f16x2 on the accumulator itself (in place: it becomes P, already the A fragment of
// P.V). Register r holds one row's two adjacent keys. Every maximum is an f16 value, so m and
// -m are exact in f16 and p = exp2(s - m) needs one add and one packed exp2 per pair; the row
// sums add four registers in f16x2 (at most 8 terms of at most 1) before each add in f32.
DEV void softmax_tile_f16x2(u32* s, float (&m)[2], float (&l)[2], float (&o_scale)[2],
                            bool masked, int key0, int n, bool causal, int row0, int lane) {
    constexpr u32 NEG_INF2 = 0xFC00FC00u;
    constexpr int REGS = SMma::REGS;
    if (masked) {
#pragma unroll
        for (int r = 0; r < REGS; ++r) {
            const int key = key0 + 8 * (r >> 1) + 2 * (lane & 3), row = row0 + 8 * (r & 1);
            const u32 lo = hidden(key, row, n, causal) ? 0xFC00u : (s[r] & 0xFFFFu);
            const u32 hi = hidden(key + 1, row, n, causal) ? 0xFC000000u : (s[r] & 0xFFFF0000u);
            s[r] = lo | hi;
        }
    }
    u32 mx2[2] = {NEG_INF2, NEG_INF2};
#pragma unroll
    for (int r = 0; r < REGS; ++r) mx2[r & 1] = hmax2(mx2[r & 1], s[r]);
    float mx[2], alpha[2], rs[2] = {0.f, 0.f};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        float lo, hi;
        unpack_f16x2(mx2[h], lo, hi);
        mx[h] = fmaxf(lo, hi);
    }
    update_max(m, mx, 1.f, alpha);
    const u32 neg_m[2] = {pack_f16x2(-m[0], -m[0]), pack_f16x2(-m[1], -m[1])};
#pragma unroll
    for (int r = 0; r < REGS; ++r) {
        // POLY of every 8 column blocks of 8 keys (register pairs) on the FMA pipe, as in f32
        const u32 x = hadd2(s[r], neg_m[r & 1]);
        s[r] = ((r >> 1) % 8 < T::POLY) ? ex2_poly_f16x2(x) : ex2_f16x2(x);
    }
#pragma unroll
    for (int g = 0; g < REGS; g += 8) {                 // 4 registers of each row at a time
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            u32 part = s[g + h];
#pragma unroll
            for (int k = 2; k < 8 && g + h + k < REGS; k += 2) part = hadd2(part, s[g + h + k]);
            float lo, hi;
            unpack_f16x2(part, lo, hi);
            rs[h] += lo + hi;
        }
    }
    update_rows(l, o_scale, alpha, rs);
    if (T::INLOOP) {
        const u32 r2[2] = {pack_f16x2(rs[0], rs[0]), pack_f16x2(rs[1], rs[1])};
#pragma unroll
        for (int r = 0; r < REGS; ++r) s[r] = hmul2(s[r], r2[r & 1]);
    }
}

// the S accumulator as floats (an f16 one unpacked)
DEV void s_values(const SAcc* acc, float (&s)[S_ELEMS]) {
#pragma unroll
    for (int r = 0; r < SMma::REGS; ++r) {
        if constexpr (T::S_F16) unpack_f16x2(acc[r], s[2 * r], s[2 * r + 1]);
        else s[r] = acc[r];
    }
}

DEV void pack_p(const float (&p)[S_ELEMS], u32 (&P)[T::KC][4]) {
#pragma unroll
    for (int kk = 0; kk < T::KC; ++kk)
#pragma unroll
        for (int r = 0; r < 4; ++r) P[kk][r] = pack_f16x2(p[8 * kk + 2 * r], p[8 * kk + 2 * r + 1]);
}

// The scores the softmax reads: S as floats (an f16 one unpacked), or with SOFTMAX_F16X2 the f16
// accumulator as it is (templates: each variant instantiates only its own branch)
template <class A, int R> DEV void take_scores(const A (&acc)[R], float (&s)[S_ELEMS]) {
    if constexpr (!T::SOFTMAX_F16X2) s_values(acc, s);
}

// The softmax of one tile, where the variant does it: in f32 on s, or in packed f16x2 on the
// f16 accumulator itself
template <class A, int R>
DEV void softmax_step(A (&acc)[R], float (&s)[S_ELEMS], float (&m)[2], float (&l)[2],
                      float (&o_scale)[2], float c, bool masked, int key0, int n, bool causal,
                      int row0, int lane) {
    if constexpr (T::SOFTMAX_F16X2) softmax_tile_f16x2(acc, m, l, o_scale, masked, key0, n, causal, row0, lane);
    else softmax_tile(s, m, l, o_scale, c, masked, key0, n, causal, row0, lane);
}

// keep the tile's p computed here, not after the next wait (reg_fence)
template <class A, int R> DEV void fence_p(A (&acc)[R], float (&s)[S_ELEMS]) {
    if constexpr (T::SOFTMAX_F16X2) reg_fence(acc);
    else reg_fence(s);
}

// P, the A fragment of P.V: packed from the f32 p, or the packed accumulator as it is
template <class A, int R> DEV void take_p(const A (&acc)[R], const float (&s)[S_ELEMS], u32 (&P)[T::KC][4]) {
    if constexpr (T::SOFTMAX_F16X2) {
#pragma unroll
        for (int kk = 0; kk < T::KC; ++kk)
#pragma unroll
            for (int r = 0; r < 4; ++r) P[kk][r] = acc[4 * kk + r];
    } else {
        pack_p(s, P);
    }
}

// O *= o_scale per row; with f16 partials (O_MODE 2) the tile's partial is added first, in f32
DEV void rescale_o(float* o, const OMma::Acc* part, const float (&sc)[2]) {
#pragma unroll
    for (int i = 0; i < O_ELEMS; i += 2) {
        if constexpr (T::O_MODE == 2) {
            float a, b;
            unpack_f16x2(part[i / 2], a, b);
            o[i] += a;
            o[i + 1] += b;
        }
        o[i] *= sc[(i >> 1) & 1];
        o[i + 1] *= sc[(i >> 1) & 1];
    }
}
DEV void rescale_o(u32* o, const OMma::Acc*, const float (&sc)[2]) {
    const u32 s0 = pack_f16x2(sc[0], sc[0]), s1 = pack_f16x2(sc[1], sc[1]);
#pragma unroll
    for (int r = 0; r < O_ELEMS / 2; ++r) o[r] = hmul2(o[r], (r & 1) ? s1 : s0);
}

DEV float o_value(const float* o, int i) { return o[i]; }
DEV float o_value(const u32* o, int i) {
    float lo, hi;
    unpack_f16x2(o[i / 2], lo, hi);
    return (i & 1) ? hi : lo;
}

extern "C" __global__ void __launch_bounds__(T::THREADS, 1)
HATTN_ENTRY(const __grid_constant__ TensorMap map_q, const __grid_constant__ TensorMap map_k,
            const __grid_constant__ TensorMap map_v, const __grid_constant__ TensorMap map_o,
            int n, int causal, float scale_log2) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const u32 sq = (smem_addr(smem_raw) + 1023) & ~1023u;   // 128B swizzle: 1024-aligned boxes
    const u32 ring = sq + T::Q_BYTES;
    const u32 q_full = ring + T::STAGES * T::STAGE_BYTES;   // then full K, full V, empty: 8 B each
    const u32 full_k = q_full + 8, full_v = full_k + 8 * T::STAGES, empty = full_v + 8 * T::STAGES;
    const int tid = threadIdx.x, wg = tid >> 7;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * T::BR;     // heaviest causal row blocks first
    const int bh = blockIdx.y;
    const int kv_end = causal ? imin(n, q0 + T::BR) : n;
    const int n_tiles = (kv_end + T::BC - 1) / T::BC;

    if (tid == 0) {
        mbar_init(q_full, 1);
        for (int s = 0; s < T::STAGES; ++s) {
            mbar_init(full_k + 8 * s, 1);                    // the producer's expect_tx arrivals
            mbar_init(full_v + 8 * s, 1);
            mbar_init(empty + 8 * s, T::CONSUMERS);          // one arrival per consumer
        }
        fence_mbar_init();
    }
    __syncthreads();

    if (wg == 0) {                                           // producer warpgroup
        setmaxnreg_dec<T::PRODUCER_REGS>();
        if (tid == 0) {
            prefetch_tensor_map(&map_q);
            prefetch_tensor_map(&map_k);
            prefetch_tensor_map(&map_v);
            mbar_arrive_expect_tx(q_full, T::Q_BYTES);
            for (int b = 0; b < T::BOXES; ++b) tma_load_3d(sq + b * T::Q_BOX, &map_q, q_full, 64 * b, q0, bh);
            for (int j = 0; j < n_tiles; ++j) {
                const int s = j % T::STAGES;
                mbar_wait(empty + 8 * s, ((j / T::STAGES) & 1) ^ 1);   // every consumer released it
                const u32 k_tile = ring + s * T::STAGE_BYTES, v_tile = k_tile + T::KV_BYTES;
                mbar_arrive_expect_tx(full_k + 8 * s, T::KV_BYTES);
                for (int b = 0; b < T::BOXES; ++b)
                    tma_load_3d(k_tile + b * T::KV_BOX, &map_k, full_k + 8 * s, 64 * b, j * T::BC, bh);
                mbar_arrive_expect_tx(full_v + 8 * s, T::KV_BYTES);
                for (int b = 0; b < T::BOXES; ++b)
                    tma_load_3d(v_tile + b * T::KV_BOX, &map_v, full_v + 8 * s, 64 * b, j * T::BC, bh);
            }
        }
        return;
    }

    setmaxnreg_inc<T::CONSUMER_REGS>();
    const int cw = wg - 1, warp = (tid & 127) >> 5, lane = tid & 31;
    const bool leader = (tid & 127) == 0;                    // arrives for the warpgroup
    const u32 q_slab = sq + cw * 64 * 128;                   // this warpgroup's rows in each Q box
    const int row0 = q0 + 64 * cw + 16 * warp + (lane >> 2); // this thread's rows: row0, row0 + 8
    const float c = T::S_F16 ? 1.f : scale_log2;

    mbar_wait(q_full, 0);
    if (T::S_F16) {
        // S accumulates scaled logits: Q *= scale * log2(e) once, in place (this warpgroup's rows;
        // each thread's 4-byte words, in f32, one rounding)
#pragma unroll
        for (int b = 0; b < T::BOXES; ++b)
#pragma unroll 4
            for (int w = tid & 127; w < 64 * 128 / 4; w += 128) {
                const u32 addr = q_slab + b * T::Q_BOX + 4 * w;
                float lo, hi;
                unpack_f16x2(ld_shared_b32(addr), lo, hi);
                st_shared_b32(addr, pack_f16x2(lo * scale_log2, hi * scale_log2));
            }
        fence_proxy_async();                                 // generic writes -> wgmma's reads
        named_barrier(1 + cw, 128);
    }

    const float NEG_INF = __int_as_float(0xff800000);
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f}, o_scale[2];
    OMma::Acc o_acc[OMma::REGS];                             // O, or (O_MODE 2) the tile's partial
    float o_total[T::O_MODE == 2 ? O_ELEMS : 1];             // O_MODE 2: the f32 sum of the partials
#pragma unroll
    for (int r = 0; r < OMma::REGS; ++r) o_acc[r] = 0;
#pragma unroll
    for (int i = 0; i < (T::O_MODE == 2 ? O_ELEMS : 1); ++i) o_total[i] = 0.f;

    SAcc s_acc[SMma::REGS];
    float s[S_ELEMS];
    u32 P[T::KC][4];
    const int first_row = q0 + 64 * cw;                      // tiles past it need the causal mask
    auto needs_mask = [&](int key0) { return key0 + T::BC > n || (causal && key0 + T::BC - 1 > first_row); };

    // tile 0: S alone
    mbar_wait(full_k, 0);
    wgmma_fence();
    issue_s(s_acc, q_slab, ring);
    wgmma_commit();
    wgmma_wait<0>();
    reg_fence(s_acc);
    take_scores(s_acc, s);
    softmax_step(s_acc, s, m, l, o_scale, c, needs_mask(0), 0, n, causal, row0, lane);
    take_p(s_acc, s, P);

    // PINGPONG (FA3): the consumers take turns issuing a tile's two wgmmas, so that one's
    // matmuls run while the others do their softmax. Warpgroup cw waits at TURN_BAR + cw (its 128
    // threads and the previous warpgroup's 128 arrivals) and passes the turn on once it has
    // issued. Every consumer runs the same n_tiles (one ring feeds them all); the last warpgroup
    // hands the first turn out before the loop, and the first takes back the surplus pass at the
    // end. The passes are unconditional: ptxas serializes the wgmmas (C7519) when a branch
    // guards a barrier between them.
    const int next_turn = T::TURN_BAR + (cw + 1) % T::CONSUMERS;
    if (T::PINGPONG && cw == T::CONSUMERS - 1 && n_tiles > 1) named_barrier_arrive(T::TURN_BAR, 256);

    for (int j = 1; j < n_tiles; ++j) {
        const int st = j % T::STAGES, prev = (j - 1) % T::STAGES;
        const u32 k_tile = ring + st * T::STAGE_BYTES;
        const u32 v_prev = ring + prev * T::STAGE_BYTES + T::KV_BYTES;
        mbar_wait(full_k + 8 * st, (j / T::STAGES) & 1);
        if (T::PINGPONG) named_barrier(T::TURN_BAR + cw, 256);      // this warpgroup's turn
        wgmma_fence();
        issue_s(s_acc, q_slab, k_tile);                      // S_j ...
        wgmma_commit();
        mbar_wait(full_v + 8 * prev, ((j - 1) / T::STAGES) & 1);
        issue_pv(o_acc, P, v_prev, T::O_MODE == 2);          // ... and P_{j-1} V_{j-1} in flight
        wgmma_commit();
        if (T::PINGPONG) named_barrier_arrive(next_turn, 256);      // the next warpgroup's turn
        wgmma_wait<1>();                                     // S_j is done
        reg_fence(s_acc);
        take_scores(s_acc, s);
        // ptxas 13 schedules the P.V wait below like an ordinary instruction and hoists it above
        // the softmax, which then no longer overlaps P.V. With OVERLAP, a branch it cannot remove
        // (n >= 1 always holds) keeps the softmax on this side of the wait.
        if (!T::OVERLAP || n > 0)
            softmax_step(s_acc, s, m, l, o_scale, c, needs_mask(j * T::BC), j * T::BC, n, causal, row0, lane);
        fence_p(s_acc, s);                                   // the softmax runs under P V, not after
        wgmma_wait<0>();                                     // P_{j-1} V_{j-1} is done
        reg_fence(o_acc);
        reg_fence(P);                                        // P's registers stay P's until here
        if (leader) mbar_arrive(empty + 8 * prev);
        if constexpr (T::O_MODE == 2) rescale_o(o_total, o_acc, o_scale);
        else if (!T::LAZY || warp_any(o_scale[0] != 1.f || o_scale[1] != 1.f))
            rescale_o(o_acc, nullptr, o_scale);             // LAZY: skipped while no row moved
        take_p(s_acc, s, P);
    }
    {
        const int last = (n_tiles - 1) % T::STAGES;
        mbar_wait(full_v + 8 * last, ((n_tiles - 1) / T::STAGES) & 1);
        wgmma_fence();
        issue_pv(o_acc, P, ring + last * T::STAGE_BYTES + T::KV_BYTES, T::O_MODE == 2);
        wgmma_commit();
        wgmma_wait<0>();
        reg_fence(o_acc);
        if (leader) mbar_arrive(empty + 8 * last);
        if constexpr (T::O_MODE == 2) {
            const float one[2] = {1.f, 1.f};
            rescale_o(o_total, o_acc, one);
        }
    }

    // epilogue: O / l as fp16 into this warpgroup's own Q rows (its S wgmmas are done; the other
    // warpgroups read other rows), then one TMA store per 64-column box
    float inv[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) inv[h] = T::INLOOP ? 1.f : 1.f / quad_sum(l[h]);
#pragma unroll
    for (int n8 = 0; n8 < T::D / 8; ++n8) {
        const int col = 8 * n8 + 2 * (lane & 3);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int i = 4 * n8 + 2 * h, row = 16 * warp + (lane >> 2) + 8 * h;
            float a, b;
            if constexpr (T::O_MODE == 2) { a = o_total[i]; b = o_total[i + 1]; }
            else { a = o_value(o_acc, i); b = o_value(o_acc, i + 1); }
            st_shared_b32(q_slab + (col / 64) * T::Q_BOX + swizzle128_offset(row, col % 64),
                          pack_f16x2(a * inv[h], b * inv[h]));
        }
    }
    // ping-pong: the first warpgroup takes the last warpgroup's last turn-pass (every barrier ends
    // with as many arrivals as waits; here, after every wgmma, the branch costs no serialization)
    if (T::PINGPONG && cw == 0 && n_tiles > 1) named_barrier(T::TURN_BAR, 256);
    fence_proxy_async();                                     // generic writes -> the TMA store
    named_barrier(1 + cw, 128);
    if (leader) {
#pragma unroll
        for (int b = 0; b < T::BOXES; ++b) tma_store_3d(&map_o, q_slab + b * T::Q_BOX, 64 * b, q0 + 64 * cw, bh);
        tma_store_commit();
        tma_store_wait_read<0>();                            // shared memory stays valid until read
    }
}

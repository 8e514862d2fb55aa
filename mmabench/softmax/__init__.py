"""The softmax instruction family: ex2, fma, max and cvt in f32 and packed f16x2/bf16x2."""

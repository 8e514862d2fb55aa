"""The bit-level arithmetic of each tensor-core form: probe kernels, designed test vectors, the
feature inference, a bit-accurate NumPy model and the exact output check of the mma chain."""

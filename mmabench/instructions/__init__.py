"""One base for the instruction families (mma.sync in mmabench.mma, wgmma in mmabench.wgmma,
the softmax ops ex2/fma/max/cvt in mmabench.softmax, which counts several opcodes per form
through a `form.Lowering` subclass; `sweep` holds the warps x ILP x blocks sweep mma and softmax
share).

Every family goes the same way, and everything but its own data and arithmetic lives here:

  catalogue (the family's forms, data satisfying `form.Form`)
    -> render (the family's PTX template under ptx/, filled for a form and a chain shape;
              `ptx` has the pieces both renders write)
    -> build: `registry.kernel_specs` (KernelSpecs for the compiler report),
              `offline.check` (ptxas + nvdisasm: the meant tensor opcode, count, no other),
              `bench.build` (driver JIT, the same count on the SASS that runs)
    -> measure: `suite.run` (latency chain, throughput sweep, f16 vs f32 twins interleaved;
              the family's exact checks on every kernel before it is timed)
    -> record: rows with the run's context, one per point.

A new family is a catalogue, a template under ptx/ and its render, its fragment layout and
exact check (a bench module: `build` through `bench.build`, inputs, the output check, a
`bench.Point` subclass), a registry module calling `registry.kernel_specs` (listed in
compiler.registry.FAMILIES), and a `suite.Family` subclass that names its launch shapes and
row columns (tests/test_instructions_base.py builds a toy one).
"""

"""`jaxssl.platform`: the CPU compiler options do what their docstring says."""
import jax
import jax.numpy as jnp

from jaxssl.platform import CPU_OPTIONS, compiler_options


def test_cpu_compiler_options_keep_convolutions_out_of_ynnpack():
  assert compiler_options() == CPU_OPTIONS  # the test process runs on the CPU
  assert compiler_options(enabled=False) is None

  def f(x, w):  # a strided convolution whose output feeds a reduction and an element-wise op
    y = jax.lax.conv_general_dilated(x, w, (2, 2), ((1, 1), (1, 1)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return y.sum(axis=(0, 1, 2)), jnp.maximum(y, 0.0)

  args = (jnp.ones((8, 14, 14, 16)), jnp.ones((3, 3, 16, 32)))

  def entry_ops(options):  # 'convolution' / 'ynn' for each top-level op of the compiled module
    text = jax.jit(f, compiler_options=options).lower(*args).compile().as_text()
    lines = [line for line in text[text.index('ENTRY'):].splitlines() if ' = ' in line]
    return ['convolution' if ' convolution(' in line else
            'ynn' if line.split(' = ')[0].split()[-1].startswith('%ynn_fusion') else 'other'
            for line in lines]

  tuned, default = entry_ops(compiler_options()), entry_ops(None)
  assert 'convolution' in tuned and tuned.count('ynn') == 1  # XLA's convolution, YNNPACK's sum
  assert 'convolution' not in default and default.count('ynn') == 2  # both YNNPACK by default

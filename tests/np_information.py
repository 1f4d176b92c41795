"""Independent NumPy float64 references of the SIGReg / LeJEPA, MMCR, EMP-SSL and FroSSL formulas.

Written from the papers' formulas (loops and complex exponentials where the library uses sums of
cos/sin, eigenvalues and `slogdet` where it uses Cholesky factors and Frobenius norms), for
tests/test_objectives_information.py and the CASES of tests/test_objectives.py. Multi-view inputs
are views-first (V, N, D); each `pair_*` function is the 'pair' registration: two (N, D) views.
"""
import numpy as np


def unit_rows(x):
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def epps_pulley(x, knots=17, t_max=3.0):
  """N·∫_ℝ |φ̂(t) − e^{−t²/2}|² e^{−t²/2} dt per column of x (N, M): trapezoid on [0, t_max], ×2."""
  n = x.shape[0]
  t = np.linspace(0.0, t_max, knots)
  trapezoid = np.full(knots, t_max / (knots - 1))
  trapezoid[[0, -1]] /= 2
  out = []
  for column in x.T:
    ecf = np.array([np.mean(np.exp(1j * tk * column)) for tk in t])
    integrand = np.abs(ecf - np.exp(-t**2 / 2)) ** 2 * np.exp(-t**2 / 2)
    out.append(n * 2 * np.sum(trapezoid * integrand))  # the integrand is even in t
  return np.array(out)


def sigreg(views, directions, knots=17, t_max=3.0):
  a = directions / np.linalg.norm(directions, axis=0)
  return np.mean([epps_pulley(v @ a, knots, t_max) for v in views])


def lejepa(global_z, local_z=None, directions=None, lam=0.05):
  views = global_z if local_z is None else np.concatenate([global_z, local_z])
  centre = global_z.mean(0)
  inv = np.mean([np.mean((v - centre) ** 2) for v in views])
  sig = sigreg(views, directions)
  return (1 - lam) * inv + lam * sig, {"invariance": inv, "sigreg": sig}


def nuclear(m):
  return np.sum(np.linalg.svd(m, compute_uv=False))


def mmcr(z, lmbda=5e-3):
  z = unit_rows(z)
  centroid = nuclear(z.mean(0))
  local = np.mean([nuclear(z[:, n, :]) for n in range(z.shape[1])])
  return -centroid + lmbda * local, {"centroid_nuclear_norm": centroid,
                                     "local_nuclear_norm": local}


def coding_rate(z, eps=0.2):
  n, d = z.shape
  return 0.5 * np.linalg.slogdet(np.eye(d) + d / (n * eps) * z.T @ z)[1]


def emp_ssl(z, eps=0.2, inv_coef=200.0):
  z = unit_rows(z)
  rate = np.mean([coding_rate(v, eps) for v in z])
  mean = z.mean(0)
  cos = [np.dot(z[v, n], mean[n]) / np.linalg.norm(mean[n])
         for v in range(z.shape[0]) for n in range(z.shape[1])]
  inv = -np.mean(cos)
  return -rate + inv_coef * inv, {"coding_rate": rate, "invariance": inv}


def renyi2(z):
  """−log Σ p_i², p the eigenvalues of ZᵀZ scaled to sum to one."""
  lam = np.linalg.eigvalsh(z.T @ z)
  p = lam / lam.sum()
  return -np.log(np.sum(p**2))


def frossl(z, invariance_weight=1.0):
  v, _, d = z.shape
  u = z / np.linalg.norm(z, axis=1, keepdims=True)  # each dimension over the batch
  entropy = np.mean([renyi2(x) for x in u])
  inv = v * d * np.mean((u - u.mean(0)) ** 2)
  return -v * entropy + invariance_weight * inv, {"entropy": entropy, "invariance": inv}


def pair(fn, **kw):
  """The 'pair' registration of views-first `fn`: fn(stack([z1, z2]))."""
  return lambda z1, z2: fn(np.stack([z1, z2]), **kw)


def pair_lejepa(directions):
  return lambda z1, z2: lejepa(np.stack([z1, z2]), directions=directions)

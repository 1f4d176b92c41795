"""Registry of objectives by name, so a config line picks one and the engine wires it by kind."""
import functools
from typing import Callable, NamedTuple, Optional

KINDS = ("pair", "stateful", "predictor_target", "predictor_stopgrad", "reconstruction")


class Objective(NamedTuple):
  """A registered objective.

  Attributes:
    name: registry name.
    fn: the loss function. Its call signature depends on `kind`:
      'pair': `fn(z1, z2, **hp) -> (loss, metrics)`;
      'stateful': `fn(z1, z2, state, **hp) -> (loss, metrics, new_state)`, state from `init_state`;
      'predictor_target': `fn(p1, p2, t1, t2, **hp) -> (loss, metrics)`, online predictions p and
        targets t from an EMA (momentum) copy of the network (BYOL, MoCo v3);
      'predictor_stopgrad': `fn(p1, p2, z1, z2, **hp) -> (loss, metrics)`, targets are the online
        projections under stop-gradient (SimSiam);
      'reconstruction': `fn(x, x_hat, **hp) -> (loss, metrics)`.
    kind: one of `KINDS`.
    init_state: `init_state(dim) -> state` for 'stateful' objectives, else None.
    takes_key: whether `fn` takes a PRNG key, `fn(..., key=key)` (SIGReg's random directions);
      the training engine then passes a fold of its step key, the same on every device.
  """
  name: str
  fn: Callable
  kind: str
  init_state: Optional[Callable] = None
  takes_key: bool = False


_REGISTRY: dict[str, Objective] = {}


def register(name: str, *, kind: str, init_state: Optional[Callable] = None,
             takes_key: bool = False):
  """Decorator registering `fn` under `name`: `@register("vicreg", kind="pair")`.

  Also usable as one line: `register("vicreg_logdet", kind="pair")(partial(vicreg_entropy, ...))`.
  """
  if kind not in KINDS:
    raise ValueError(f"Unknown objective kind {kind!r}; valid kinds: {', '.join(KINDS)}.")
  if (kind == "stateful") != (init_state is not None):
    raise ValueError(f"Objective {name!r}: init_state is required for kind 'stateful' and only "
                     "for it.")

  def decorator(fn: Callable) -> Callable:
    if name in _REGISTRY:
      raise ValueError(f"Objective {name!r} is already registered.")
    _REGISTRY[name] = Objective(name=name, fn=_named(fn, name), kind=kind, init_state=init_state,
                                takes_key=takes_key)
    return fn

  return decorator


def _named(fn: Callable, name: str) -> Callable:
  """`fn` with its errors naming the registered variant (`vicreg_logdet: ...`), not the function
  it wraps (`vicreg_entropy: ...`): a ValueError whose message starts with the wrapped function's
  name is raised again with `name` in its place. `fn` itself if it already bears `name`."""
  inner = getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", None)
  if inner is None or inner == name:
    return fn
  prefix = f"{inner}: "

  @functools.wraps(fn)
  def variant(*args, **kwargs):
    try:
      return fn(*args, **kwargs)
    except ValueError as err:
      message = str(err)
      if not message.startswith(prefix):
        raise
      raise ValueError(f"{name}: {message[len(prefix):]}") from None

  variant.__name__ = variant.__qualname__ = name
  return variant


def names() -> list[str]:
  """Sorted names of the registered objectives."""
  return sorted(_REGISTRY)


def get(name: str) -> Objective:
  """The registered objective `name`; unknown names raise a ValueError listing the valid ones."""
  if name not in _REGISTRY:
    raise ValueError(f"Unknown objective {name!r}; valid names: {', '.join(names())}.")
  return _REGISTRY[name]

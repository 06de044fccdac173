"""Trace and compile: the chain rule written out as a program, and a replay of it.

``tn.trace(f, *args)`` records what ``f`` computes — its forward pass and the backward pass
``backward()`` would run — as a ``Program``: one SSA line per primitive step, each labelled with
the layer function it belongs to and the tutorial's symbol for what it computes.
``tn.compile(f)`` returns a function that replays that program on new data: forward and backward
in one call, as straight-line Python for scalar code and as NumPy calls into reused buffers for
tensors, with the eager engine's numbers bit for bit.  ``tn.compile(f, optimizer=opt)`` adds the
optimizer's update to the program: a whole training step.

| module | job |
| --- | --- |
| ``rules.py`` | the rule table's source: the syntax of every forward map and VJP in ``ops.py`` |
| ``inline.py`` | one rule written out for arguments of known kinds and shapes |
| ``folded.py`` | what is known of a value at trace time, and a known value written as code |
| ``program.py`` | ``Program`` and ``Step``: the SSA form, and how it prints |
| ``tracer.py`` | ``trace``: the graph and the engine's reverse pass, recorded as steps |
| ``codegen.py`` | the program as Python source, checked against the engine, with buffers; an
  optimizer's update written after the backward pass |
| ``cse.py`` | a value the program computes twice, computed once |
| ``compiled.py`` | ``compile``: the cache of programs, the checks, ``.grad``; with
  ``optimizer=``, a training step |
"""

from ..errors import TraceError
from .compiled import Compiled, compile, compile_value_and_grad
from .program import Program, Step
from .tracer import trace

__all__ = ["Compiled", "Program", "Step", "TraceError", "compile", "compile_value_and_grad",
           "trace"]

"""Pictures of graphs with graphviz: the computation graph of a Value and the network G(V, A).

``draw_graph(root)`` draws what the engine recorded: one box per ``Value`` (its name, data and
gradient) and one ellipse per operation (its label: ``+``, ``*``, ``φ``, ``W·x+b``...), with the
ops of each module call (or ``tinygrad_nn.scope`` block) inside a cluster labelled f, φ, g, E.
With ``edge_derivatives=True`` every edge into an op carries the local derivative ∂out/∂in at
the current values, so ∂E/∂w reads off the picture as the sum over paths from w to E of the
product of the edge labels (the chain rule).

``draw_network(model)`` draws the tutorial's graph G(V, A) of a ``Sequential`` of ``Linear``
and activation layers: neurons as vertices grouped by layer, weights as arcs (between two
adjacent layers the complete bipartite graph K_{m,n}), coloured by sign, as thick as they are
large.

Both return a ``graphviz.Digraph``: ``.source`` is the DOT text (no executable needed),
``.render()``/``render()`` need Graphviz's ``dot`` (Debian: ``apt-get install graphviz``), and
Jupyter displays the object directly.

``stepper(root)`` plays the engine's own backward pass, step by step, as one interactive HTML
page that works offline (``Stepper.save(path)``; inline in a notebook).

``playground(recorder)`` shows a training run that ``fit(..., record=Recorder())`` recorded as
one offline page: the network's weights, the curves, the gradients per layer and the decision
boundary or the test images, snapshot by snapshot (``Playground.save(path)``; inline in a
notebook).

The modules: ``computation_graph`` (``draw_graph``), ``network`` (``draw_network``), ``render``
and ``dot`` (labels, numbers and fonts both drawings share); ``stepper`` with ``steps`` (the
backward pass, recorded), ``stepper_views`` and ``stepper_network`` (what the page draws),
``playground`` (a recorded training run), and ``pages`` (what every interactive page shares).
The worked example's pictures are built in ``tinygrad_nn.tutorial.pictures``.
"""

from ..errors import GraphvizNotFoundError
from .computation_graph import HIGHLIGHT, MARK_FILL, MARK_LINE, draw_graph
from .dot import RANKDIRS
from .network import NEGATIVE, POSITIVE, ZERO, draw_network
from .playground import Playground, playground
from .render import FORMATS, render
from .stepper import Stepper, stepper

__all__ = [
    "FORMATS",
    "HIGHLIGHT",
    "MARK_FILL",
    "MARK_LINE",
    "NEGATIVE",
    "POSITIVE",
    "RANKDIRS",
    "ZERO",
    "GraphvizNotFoundError",
    "Playground",
    "Stepper",
    "draw_graph",
    "draw_network",
    "playground",
    "render",
    "stepper",
]

"""What the interactive pages share: one self-contained HTML file, laid out by Graphviz.

``shell``: the HTML shell (a Content-Security-Policy that forbids every request, inlined styles
and scripts from ``assets/``, the data as JSON in ``<script type="application/json"
id="tn-data">``) and writing it atomically; ``layout``: Graphviz's layout of a drawing as the
small JSON the pages draw from (``assets/graph_view.js`` draws it); ``browser``: headless
Chromium for the pages' tests and screenshots.  The stepper (``tinygrad_nn.viz.stepper``) is
the first page built on them.
"""

from .layout import layout
from .shell import CSP, asset, html_page, iframe, json_number, json_value, save_page, script_json

__all__ = ["CSP", "asset", "html_page", "iframe", "json_number", "json_value", "layout",
           "save_page", "script_json"]

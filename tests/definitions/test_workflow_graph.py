"""Every drawing of a workflow lays its steps out by one shape: layers from the start, where a
route back (return to draft) never pulls a step up."""
from __future__ import annotations

from pathlib import Path

from engine.definitions.catalog import load_definitions
from engine.definitions.workflow_graph import edges, layers
from engine.reports.process_map import layout
from web.flow_diagram import build

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"


def test_layers_follow_the_longest_path_and_ignore_routes_back():
    wf = load_definitions(str(DEFINITIONS)).workflows["return_request"]
    assert ("review", "draft") in edges(wf)  # `return` goes back…
    assert layers(wf) == {"draft": 0, "review": 1, "approved": 2, "rejected": 2, "received": 3}


def test_the_record_diagram_and_the_process_map_draw_the_same_layers():
    for wf in load_definitions(str(DEFINITIONS)).workflows.values():
        columns = {name: column for name, (column, _) in layout(wf).items()}
        diagram = build(wf, wf.start, [], lambda name: name)
        rows = {n.name: n.layer for n in diagram}
        assert columns == rows == layers(wf), wf.id

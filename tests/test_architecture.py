"""The package's shape: imports point down the layers and never in a circle (imports inside
functions count), docs/architecture.md names every module, and the Makefile's prerequisites
are the chapters' imports."""

import re

from helpers.config import PROJECT_ROOT
from tools import prerequisites

LAYERS = [
    {"config", "pausepoints", "progress"},
    {"artifacts", "listings"},
    {"data", "preprocess", "samples", "corrupt", "plots"},
    {"models", "augment"},
    {"predict"},
    {"export", "evaluate", "saliency"},
    {"record"},
    {"train"},
    {"adapt", "search", "course"},
    {"trust", "report"},
    {"exercises", "widgets", "cli", "blocks"},
]
"""helpers' modules from the bottom up, as docs/architecture.md draws them: a module imports
only from layers below its own."""


def layer_of(name: str) -> int:
    """The index of the layer that holds module `name`."""
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import that does not point to a lower layer, as 'a -> b' lines."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if layer_of(target) >= layer_of(module)
    )


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`: each module that can reach itself, with one path back."""
    found = []
    for start in sorted(graph):
        path, todo = {start: [start]}, [start]
        while todo:
            module = todo.pop()
            for target in sorted(graph.get(module, ())):
                if target == start:
                    found.append([*path[module], start])
                    todo = []
                    break
                if target not in path:
                    path[target] = [*path[module], target]
                    todo.append(target)
    return found


def test_every_module_has_one_layer():
    modules = set(prerequisites.import_graph())
    placed = [name for layer in LAYERS for name in layer]
    unplaced, gone = sorted(modules - set(placed)), sorted(set(placed) - modules)
    assert sorted(placed) == sorted(set(placed)), "a module sits in two layers"
    assert set(placed) == modules, f"place {unplaced}; drop {gone}"


def test_imports_point_down_the_layers_and_never_in_a_circle():
    graph = prerequisites.import_graph()
    assert upward_imports(graph) == []
    assert cycles(graph) == []


def test_the_checks_see_an_upward_import_and_a_cycle():
    graph = prerequisites.import_graph() | {"predict": {"models", "adapt"}, "adapt": {"predict"}}
    assert "predict -> adapt" in upward_imports(graph)
    assert ["adapt", "predict", "adapt"] in cycles(graph)


def test_function_local_imports_count():
    source = "import numpy\n\ndef f():\n    from helpers.train import train_model\n    import helpers.plots\n"
    assert prerequisites.helpers_imported(source) == {"train", "plots"}


def test_docs_architecture_names_every_module_once():
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    named = re.findall(r"^\| `(\w+)` \|", text, re.M)
    assert sorted(named) == sorted(prerequisites.import_graph())


def test_makefile_prerequisites_are_the_chapters_imports():
    assert (PROJECT_ROOT / "notebooks" / "prerequisites.mk").read_text() == prerequisites.render(), (
        "notebooks/prerequisites.mk is out of date: run `make prerequisites`"
    )


def test_a_chapter_depends_on_what_its_imports_reach():
    found = prerequisites.prerequisites()
    for chapter, module in [("02_train", "export"), ("05_trust", "saliency"), ("05_trust", "adapt")]:
        assert f"helpers/{module}.py" in found[chapter], (chapter, module)


PRIVATE_KERAS = re.compile(
    r"tf\.compat|keras\.src|\._(?:update_model_variables_moving_average|model_variables_moving_average"
    r"|flatten_layers|tracker|trainable_variables)\b"
)
"""What only Keras's own code may touch: TensorFlow 1's API, Keras's private modules and hooks."""


def test_helpers_use_public_keras_only():
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((PROJECT_ROOT / "helpers").glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_KERAS.search(line)
    ]
    assert not found, "\n".join(found)

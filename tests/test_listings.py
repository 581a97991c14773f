"""The code the chapters show is the code that runs: helpers.listings, and a check of every
`show_code(...)` in the notebooks against what the notebook goes on to run."""

import ast
import contextlib
import importlib
import inspect
import textwrap
from pathlib import Path

import nbformat
import pytest

from helpers import listings
from helpers.config import PROJECT_ROOT
from helpers.evaluate import Evaluation
from helpers.models import build_compact_cnn, build_seed_cnn

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("**/*.ipynb"))
CHAPTERS = sorted((PROJECT_ROOT / "notebooks").glob("0*.ipynb"))


# --- helpers.listings -------------------------------------------------------------------------------


def test_a_listing_is_the_real_source_with_where_it_lives():
    listing = listings.show_code(build_compact_cnn)
    data, metadata = listing._repr_mimebundle_()
    source = inspect.getsource(build_compact_cnn)
    assert data["text/plain"].startswith("# helpers/models.py, line ")
    assert source in data["text/plain"]
    assert metadata == {"listing": ["helpers.models.build_compact_cnn"]}
    assert "layers.MaxPooling2D" not in data["text/html"]  # highlighted: tokens are wrapped in spans
    assert "MaxPooling2D" in data["text/html"] and "<span" in data["text/html"]
    line = int(data["text/plain"].split("line ")[1].split("\n")[0])
    assert (
        Path(inspect.getsourcefile(build_compact_cnn))
        .read_text()
        .splitlines()[line - 1]
        .startswith("def build_compact_cnn(")
    )


def test_listings_side_by_side_and_of_methods_and_properties():
    pair = listings.show_code(build_seed_cnn, build_compact_cnn, side_by_side=True)
    assert "flex-direction:row" in pair.html() and pair.html().count("<figure") == 2
    assert "flex-direction:column" in listings.show_code(build_seed_cnn).html()
    members = listings.show_code(Evaluation.accuracy, Evaluation.report)
    assert members.names == ["helpers.evaluate.Evaluation.accuracy", "helpers.evaluate.Evaluation.report"]
    text = members.text()
    assert "@property\ndef accuracy(self)" in text  # dedented, decorator kept
    assert "def report(self)" in text


def test_show_code_refuses_what_has_no_source_to_show():
    with pytest.raises(ValueError, match="at least one"):
        listings.show_code()
    with pytest.raises(TypeError, match="functions and classes, not int"):
        listings.show_code(3)


# --- every shown function is one the notebook then runs ---------------------------------------------


def imports_of(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted path, for the `import` and `from ... import` statements in `tree`."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                names[local] = alias.name if alias.asname else local
    return names


def dotted(node: ast.AST) -> str | None:
    """'Evaluation.report' for an Attribute chain on a Name, 'fgsm' for a Name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def resolve(path: str) -> object:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = inspect.getattr_static(obj, attr) if inspect.isclass(obj) else getattr(obj, attr)
        return obj
    raise LookupError(path)


def is_ours(obj: object) -> bool:
    """A function or class defined in the helpers package."""
    obj = listings.unwrap(obj)
    return (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith("helpers.")


def references(tree: ast.AST, namespace: dict[str, object]) -> tuple[list[object], set[str]]:
    """The helpers functions and classes `tree` names (directly, or as values of a dict, list or
    tuple it names, such as the model registry), and every attribute name it uses."""
    found, attributes = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            attributes.add(node.attr)
        if isinstance(node, ast.Name) and node.id in namespace:
            value = namespace[node.id]
            if isinstance(value, dict):
                value = list(value.values())
            found += [v for v in (value if isinstance(value, list | tuple) else [value]) if is_ours(v)]
    return found, attributes


def run_by(cells: list[str], notebook: list[str], classes: frozenset[type] = frozenset()) -> set[object]:
    """Everything `cells` run, as far as the source tells (names imported anywhere in the
    `notebook`): the helpers functions and classes they name, then those that those name, and so
    on. A method or property of a class reached, or of one of `classes` (whose objects exist
    already), counts once its name is used (`evaluation.report()`)."""
    namespace = {}
    for local, path in imports_of(ast.parse("\n".join(notebook))).items():
        with contextlib.suppress(LookupError, AttributeError):
            namespace[local] = resolve(path)
    pending, attributes = [], set()
    for source in cells:
        objects, names = references(ast.parse(source), namespace)
        pending += objects
        attributes |= names
    reached: set[object] = set(classes)
    while True:
        while pending:
            obj = listings.unwrap(pending.pop())
            if obj in reached:
                continue
            reached.add(obj)
            if inspect.isfunction(obj):
                objects, names = references(
                    ast.parse(textwrap.dedent(inspect.getsource(obj))), obj.__globals__
                )
                pending += objects
                attributes |= names
        pending = [
            member
            for cls in reached
            if inspect.isclass(cls)
            for name, member in vars(cls).items()
            if name in attributes and is_ours(member) and listings.unwrap(member) not in reached
        ]
        if not pending:
            return reached


def shown_and_unrun(cells: list[str]) -> tuple[list[str], list[str]]:
    """The paths `show_code` shows in `cells`, and those of them that no later code runs."""
    shown, unrun = [], []
    for index, source in enumerate(cells):
        tree = ast.parse(source)
        names = imports_of(ast.parse("\n".join(cells)))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and dotted(n.func) == "show_code"]
        for call in calls:
            for arg in call.args:
                local = dotted(arg)
                head, _, rest = local.partition(".")
                path = names.get(head, head) + (f".{rest}" if rest else "")
                shown.append(path)
                later = [strip_calls(source, "show_code"), *cells[index + 1 :]]
                made = frozenset(c for c in run_by(cells[:index], cells) if inspect.isclass(c))
                if listings.unwrap(resolve(path)) not in run_by(later, cells, made):
                    unrun.append(path)
    return shown, unrun


def strip_calls(source: str, name: str) -> str:
    """`source` without its statements that are calls of `name` (a listing is not a use)."""
    tree = ast.parse(source)
    tree.body = [
        s
        for s in tree.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and dotted(s.value.func) == name)
    ]
    return ast.unparse(tree)


def code_cells(path: Path) -> list[str]:
    """The notebook's code cells, with IPython magics and shell lines dropped."""
    notebook = nbformat.read(path, as_version=4)
    cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    return [
        "\n".join(line for line in s.splitlines() if not line.lstrip().startswith(("%", "!"))) for s in cells
    ]


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=lambda p: p.relative_to(PROJECT_ROOT / "notebooks").as_posix()
)
def test_every_shown_function_is_one_the_notebook_then_runs(path):
    shown, unrun = shown_and_unrun(code_cells(path))
    assert unrun == [], f"{path.name} shows code it never runs: {unrun}"
    for target in shown:
        assert is_ours(resolve(target)), f"{target}: show_code is for the course's own code in helpers/"


def test_each_chapter_shows_the_code_it_teaches():
    expected = {
        "01_explore": {
            "helpers.data.load_mnist", "helpers.data.scale_images", "helpers.data.split_train_val",
        },
        "02_train": {
            "helpers.models.build_compact_cnn", "helpers.models.build_seed_cnn",
            "helpers.models.compile_model", "helpers.augment.make_augmenter", "helpers.train.fit_model",
            "helpers.train.make_dataset", "helpers.train.make_callbacks", "helpers.train.RecomputeBatchNorm",
        },
        "03_evaluate": {"helpers.evaluate.Evaluation.accuracy", "helpers.evaluate.Evaluation.report",
                        "helpers.evaluate.Evaluation.confusion"},
        "04_infer": {"helpers.preprocess.preprocess_image", "helpers.preprocess.clean_image"},
        "05_trust": {"helpers.trust.fgsm", "helpers.trust.integrated_gradients"},
        "06_adapt": {
            "helpers.adapt.train_copy",
            "helpers.adapt.adaptation_batches",
            "helpers.adapt.calibrate_model",
        },
        "07_search": {"helpers.search.suggest_config", "helpers.search.pruning_callback"},
    }  # fmt: skip
    for path in CHAPTERS:
        shown = set(shown_and_unrun(code_cells(path))[0])
        assert expected[path.stem] <= shown, f"{path.stem} does not show {expected[path.stem] - shown}"


def test_the_check_catches_a_listing_of_code_that_never_runs():
    cells = [
        "from helpers.listings import show_code\nfrom helpers.models import build_mlp, build_model",
        "show_code(build_mlp)",
        "model = build_model(config)",  # reaches the registry, hence build_mlp: fine
    ]
    assert shown_and_unrun(cells) == (["helpers.models.build_mlp"], [])
    cells[2] = "print('nothing')"
    assert shown_and_unrun(cells) == (["helpers.models.build_mlp"], ["helpers.models.build_mlp"])
    # A method counts only once something calls it by name.
    cells = [
        "from helpers.listings import show_code\n"
        "from helpers.evaluate import Evaluation, evaluate_probabilities",
        "show_code(Evaluation.report, Evaluation.top_confusions)",
        "e = evaluate_probabilities(y, p)\ne.report()",
    ]
    assert shown_and_unrun(cells)[1] == ["helpers.evaluate.Evaluation.top_confusions"]
    # Calling it before it is shown does not count: the listing comes first.
    cells = ["from helpers.listings import show_code\nfrom helpers.trust import fgsm", "fgsm(m, x, y, 0.1)",
             "show_code(fgsm)"]  # fmt: skip
    assert shown_and_unrun(cells)[1] == ["helpers.trust.fgsm"]


def test_no_chapter_copies_code_into_its_text():
    """The Keras code is shown by listings, never pasted into markdown where it could go stale."""
    for path in CHAPTERS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                for marker in ("def ", "layers.Conv2D(", ".compile(", ".fit("):
                    assert marker not in cell.source, f"{path.name}: markdown holds code ({marker!r})"

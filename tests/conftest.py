"""Shared fixtures: the real MNIST arrays, a fake valid MNIST file and one tiny trained model."""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from PIL import Image

from helpers import pausepoints
from helpers.config import PROJECT_ROOT, TrainConfig, run_paths
from helpers.samples import PAD_PEN, PAD_SIZE, draw_pen_stroke

matplotlib.use("Agg")  # before any test module imports pyplot (helpers.plots)

MNIST_FILE = PROJECT_ROOT / "data" / "mnist.npz"
SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"
TINY_SUBSET = 3000


def skip_unless_ci(reason: str) -> None:
    """Skip with `reason` on a user's machine; under CI (CI=true) a missing server or browser
    is a failure, since a skipped check there would pass without having run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: CI must provide it)")
    pytest.skip(reason)


TIER_MARKERS = ("slow", "notebook", "browser", "postgres")
"""What `make test-fast` leaves out (pyproject.toml declares them)."""
SLOW_FIXTURES = {"quick_course": "the quick course", "quick": "the benchmark's quick run"}
"""Fixtures that run minutes of work: a test that uses one must carry a tier marker."""


def unmarked_slow_tests(items: list[pytest.Item]) -> list[str]:
    """Tests that use a `SLOW_FIXTURES` fixture without any `TIER_MARKERS` marker, with the fixture."""
    return [
        f"{item.nodeid} uses {SLOW_FIXTURES[name]} ({name}) but is not marked slow"
        for item in items
        for name in sorted(set(getattr(item, "fixturenames", ())) & set(SLOW_FIXTURES))
        if not any(item.get_closest_marker(marker) for marker in TIER_MARKERS)
    ]


QUICK_COURSE_FILE = "tests/test_make.py"
"""The one file whose tests may read the quick course: `make test`'s workers take whole files
(pytest-xdist, `--dist loadfile`), so tests of the course in a second file would run it twice."""


def quick_course_elsewhere(items: list[pytest.Item]) -> list[str]:
    """Tests that read the quick course from outside `QUICK_COURSE_FILE`."""
    return [
        f"{item.nodeid} uses the quick course: move it to {QUICK_COURSE_FILE}, which runs it once"
        for item in items
        if "quick_course" in getattr(item, "fixturenames", ())
        and not item.nodeid.startswith(QUICK_COURSE_FILE)
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the fast tier fast: a test on the quick course or the quick benchmark is marked slow;
    and keep the quick course to one file, so that it runs once."""
    problems = unmarked_slow_tests(items) + quick_course_elsewhere(items)
    if problems:
        raise pytest.UsageError("\n".join(problems))


def committed(path: str) -> bytes | None:
    """The file at `path` (from the project's root) as git HEAD holds it; None where it holds none
    or where there is no git."""
    try:
        shown = subprocess.run(["git", "show", f"HEAD:./{path}"], cwd=PROJECT_ROOT, capture_output=True)
    except OSError:  # no git at all
        return None
    return shown.stdout if shown.returncode == 0 else None


def in_git_checkout() -> bool:
    """True where git HEAD holds this project (its README)."""
    return committed("README.md") is not None


SHIPPED_MODEL_FILES = ("models/best_model.keras", "models/best_model.json", "models/best_model.tflite")


@pytest.fixture(scope="session")
def shipped_model(tmp_path_factory) -> Path:
    """The shipped model as committed (with its run record and LiteRT copy): what tests that hold
    the shipped model to a figure read, so that a `make all` that retrained models/ (on another
    machine, or in the quick profile) moves none of them. models/best_model.keras itself where it
    is as committed, or outside a git checkout."""
    here = PROJECT_ROOT / SHIPPED_MODEL_FILES[0]
    held = {path: committed(path) for path in SHIPPED_MODEL_FILES}
    if any(data is None for data in held.values()) or all(
        (PROJECT_ROOT / path).is_file() and (PROJECT_ROOT / path).read_bytes() == data
        for path, data in held.items()
    ):
        return here
    folder = tmp_path_factory.mktemp("shipped_model")
    for path, data in held.items():
        (folder / Path(path).name).write_bytes(data)
    return folder / here.name


@pytest.fixture(autouse=True)
def _no_mnist_env(monkeypatch):
    """No test may depend on the caller's $MNIST_NPZ."""
    monkeypatch.delenv("MNIST_NPZ", raising=False)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, loaded once from data/mnist.npz."""
    from helpers.data import load_mnist

    return load_mnist(MNIST_FILE)


@pytest.fixture(scope="session")
def fake_arrays():
    """Arrays with MNIST's exact layout (zeros images, labels cycling 0-9), but not MNIST."""
    return {
        "x_train": np.zeros((60000, 28, 28), np.uint8),
        "y_train": (np.arange(60000) % 10).astype(np.uint8),
        "x_test": np.zeros((10000, 28, 28), np.uint8),
        "y_test": (np.arange(10000) % 10).astype(np.uint8),
    }


@pytest.fixture(scope="session")
def fake_npz(tmp_path_factory, fake_arrays):
    """A valid-looking MNIST file (right keys, shapes, dtypes) whose sha256 is not MNIST's."""
    path = tmp_path_factory.mktemp("fake_mnist") / "fake.npz"
    np.savez_compressed(path, **fake_arrays)
    return path


@pytest.fixture(scope="session")
def tiny_split(mnist):
    """The default validation split (6000 images) with a 3000-image stratified training subset."""
    from helpers.data import split_train_val

    return split_train_val(mnist.x_train, mnist.y_train, val_fraction=0.1, seed=42, train_subset=TINY_SUBSET)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist, tiny_split):
    """One `mlp` trained for 1 epoch on 3000 images into a temporary run folder, shared by all tests."""
    from helpers.train import train_model

    config = TrainConfig(
        model="mlp", epochs=1, batch_size=64, train_subset=TINY_SUBSET,
        learning_rate=1e-3, dropout=0.5, augment=False, schedule="plateau",
    )  # fmt: skip
    paths = run_paths(tmp_path_factory.mktemp("tiny_run"))
    result = train_model(config, tiny_split, paths, data_sha256=mnist.sha256, verbose=False)
    return SimpleNamespace(config=config, paths=paths, result=result, split=tiny_split)


@pytest.fixture(scope="session")
def tiny_model(tiny_run):
    """The tiny run's saved model, loaded back through `helpers.predict.load_model`."""
    from helpers.predict import load_model

    return load_model(tiny_run.paths.model_file)


@pytest.fixture
def registered():
    """Append the names of the models a test registers (`register_model`); they are forgotten after it."""
    from helpers import config, models

    names: list[str] = []
    yield names
    for name in names:
        models.REGISTRY.pop(name, None)
        if name in config._REGISTERED:
            config._REGISTERED.remove(name)


@pytest.fixture(scope="session")
def edge_drawings():
    """Strokes (pad pixels, 280x280) of digits drawn to the edges of the drawing pad, as learners draw."""
    return EDGE_DRAWINGS


EDGE_DRAWINGS = {
    # A 1 from the pad's top edge to its bottom edge.
    1: [[(150, 0), (140, 140), (130, 279)]],
    # A 7 whose bar runs along the top edge, its stem off the bottom.
    7: [[(25, 6), (255, 6)], [(255, 6), (180, 140), (120, 279)]],
    # A 0 that touches all four sides.
    0: [[(140 + 132 * np.sin(a), 140 - 132 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 60)]],
    # A 4 whose stem runs off the bottom and whose bar reaches the right edge.
    4: [[(90, 0), (40, 170), (279, 170)], [(200, 40), (200, 279)]],
}


def draw_strokes(
    strokes: list[list[tuple[float, float]]], size: int = PAD_SIZE, pen: int = PAD_PEN
) -> Image.Image:
    """A white `size` pad with `strokes` drawn on it by `draw_pen_stroke`."""
    paper = Image.new("L", (size, size), 255)
    for points in strokes:
        draw_pen_stroke(paper, points, pen)
    return paper


class PausePoint:
    """The test's end of `helpers.pausepoints`: a Unix socket that a run connects to when it
    reaches the named point, and where it then waits until the test lets it go."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._folder = tempfile.mkdtemp(prefix="pause-")  # a short path: sockets allow 107 bytes
        address = os.path.join(self._folder, "socket")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(address)
        self._server.listen(1)
        self.env = {pausepoints.ENV: f"{name}@{address}"}
        self._connection: socket.socket | None = None

    def hold_this_process(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Ask this very process to pause there (for work that runs in one of its threads)."""
        for name, value in self.env.items():
            monkeypatch.setenv(name, value)

    def wait(self, alive: Callable[[], bool], limit: float = 900.0) -> None:
        """Return once the run is held at the point; fail if it ends (`alive()` is false) first."""
        self._server.settimeout(1.0)  # only to notice a run that died; the event itself ends the wait
        for _ in range(int(limit)):
            try:
                self._connection, _ = self._server.accept()
                break
            except TimeoutError:
                assert alive(), f"the run ended before it reached {self.name!r}"
        assert self._connection is not None, f"the run did not reach {self.name!r} in {limit:.0f} s"
        self._connection.settimeout(None)
        assert self._connection.makefile().readline().strip() == self.name

    def release(self) -> None:
        """Let the held run go on."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def close(self) -> None:
        """Release the run, stop listening and remove the socket."""
        self.release()
        self._server.close()
        shutil.rmtree(self._folder, ignore_errors=True)


@pytest.fixture(scope="session")
def quick_course(tmp_path_factory):
    """The quick course run once, interrupted on the way, for every test that needs it
    (tests/quick_course.py); its folder is build/test/quick."""
    from quick_course import run_quick_course

    return run_quick_course(tmp_path_factory.mktemp("quick_course_logs"))


@pytest.fixture
def pause_point():
    """Make PausePoints (`pause_point("training")`); all are closed after the test."""
    points: list[PausePoint] = []

    def make(name: str) -> PausePoint:
        points.append(PausePoint(name))
        return points[-1]

    yield make
    for point in points:
        point.close()

"""The chapters' exercises: each chapter ends with them, each check they name exists and is used, each
checker passes a right answer (worked out here through the reference code) and fails a wrong one, and
the worked solutions exist, one per chapter, and stay out of the report."""

import copy
import math
import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import f1_score

from helpers import exercises, models
from helpers.config import PROJECT_ROOT, TrainConfig
from helpers.exercises import EXERCISES, check_exercise

CHAPTERS = sorted((PROJECT_ROOT / "notebooks").glob("0*.ipynb"))
SOLUTIONS = PROJECT_ROOT / "notebooks" / "solutions"
CHECK = re.compile(r"check_exercise\(\s*[\"'](\d\d\.\d)[\"']")
EXERCISE_HEADING = re.compile(r"^### (\d\d)\.(\d) · \S")


def cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def exercise_section(path: Path) -> list[nbformat.NotebookNode]:
    """The cells from the "## Exercises" heading to the end."""
    found = cells(path)
    starts = [
        i for i, c in enumerate(found) if c.cell_type == "markdown" and c.source.startswith("## Exercises")
    ]
    assert len(starts) == 1, f"{path.name}: expected one '## Exercises' heading, found {len(starts)}"
    return found[starts[0] :]


# --- the chapters and the solutions --------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_chapter_ends_with_four_to_seven_numbered_exercises(path):
    section = exercise_section(path)
    everything = cells(path)
    summary = [i for i, c in enumerate(everything) if c.cell_type == "markdown" and "## Summary" in c.source]
    assert summary and summary[-1] < everything.index(section[0]), "Exercises come after the Summary"
    assert all(c.cell_type == "markdown" for c in section), "exercises are text only: make all must not slow"
    for cell in section[1:]:
        assert not re.search(r"^#{1,2} ", cell.source, re.M), "nothing but exercises after '## Exercises'"
    numbered = [EXERCISE_HEADING.match(c.source) for c in section]
    numbers = [(m[1], int(m[2])) for m in numbered if m]
    chapter = path.stem[:2]
    assert 4 <= len(numbers) <= 7, f"{path.stem}: {len(numbers)} exercises"
    assert numbers == [(chapter, i) for i in range(1, len(numbers) + 1)], f"{path.stem}: numbered {numbers}"
    for cell, match in zip(section, numbered, strict=True):
        if match:
            text = " ".join(cell.source.split())
            assert "A good answer" in text, f"{match[1]}.{match[2]} does not say what a good answer shows"
            assert set(CHECK.findall(cell.source)) <= {f"{match[1]}.{match[2]}"}, "each names its own check"
    assert f"notebooks/solutions/{path.stem}.ipynb" in section[0].source


def test_every_check_named_exists_and_every_check_is_used_in_its_chapter():
    named_in_chapters = {
        key for path in CHAPTERS for c in exercise_section(path) for key in CHECK.findall(c.source)
    }
    named_in_solutions = {
        key for path in SOLUTIONS.glob("*.ipynb") for c in cells(path) for key in CHECK.findall(c.source)
    }
    assert named_in_chapters | named_in_solutions <= set(EXERCISES), (
        "a notebook names a check that is not there"
    )
    for key in EXERCISES:
        chapter = next(p for p in CHAPTERS if p.stem.startswith(key[:2]))
        assert key in {k for c in exercise_section(chapter) for k in CHECK.findall(c.source)}, (
            f"{key} is not used in {chapter.name}"
        )
        solution = "\n".join(c.source for c in cells(SOLUTIONS / chapter.name) if c.cell_type == "code")
        assert f'assert check_exercise("{key}"' in solution, f"{key} is not asserted in its solution"


def test_one_solution_notebook_per_chapter_with_a_run_dir_parameter():
    assert sorted(p.name for p in SOLUTIONS.glob("*.ipynb")) == [p.name for p in CHAPTERS]
    for path in SOLUTIONS.glob("*.ipynb"):
        code = [c for c in cells(path) if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), (
            f"{path.name}: first code cell not parameters"
        )
        assert re.search(r'^RUN_DIR = ""', code[0].source, re.M)
        for cell in code:  # every check is asserted, so a stale solution fails
            for line in cell.source.splitlines():
                if "check_exercise(" in line and not line.lstrip().startswith(("from ", "import ")):
                    assert re.match(r"\s*assert (not )?check_exercise\(", line), (
                        f"{path.name}: {line.strip()}"
                    )


def test_the_report_leaves_the_solutions_out():
    from helpers.report import NOTEBOOKS

    assert list(NOTEBOOKS) == [p.stem for p in CHAPTERS]


# --- check_exercise -------------------------------------------------------------------------------------


def test_an_unknown_key_or_wrong_context_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown exercise '09.9'.*01\.1, 01\.2"):
        check_exercise("09.9", 1)
    with pytest.raises(TypeError, match=r"missing evaluation.*03\.1 takes evaluation=\.\.\., digit=\.\.\."):
        check_exercise("03.1", (0.9, 0.9), digit=9)
    with pytest.raises(TypeError, match="unexpected evalution"):
        check_exercise("01.1", (5, 892), evalution=None)


def test_importing_the_checks_is_cheap():
    import subprocess
    import sys

    heavy = "('tensorflow', 'keras', 'sklearn')"
    code = f"import sys, helpers.exercises; print(any(m in sys.modules for m in {heavy}))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )


def test_a_verdict_is_one_line_that_keeps_the_answer_to_itself(capsys):
    dense = next(layer for layer in models.build_seed_cnn().layers if getattr(layer, "units", 0) == 512)
    right = dense.count_params()
    assert check_exercise("02.1", right) is True
    assert check_exercise("02.1", right + 1000) is False
    lines = capsys.readouterr().out.splitlines()
    assert (
        len(lines) == 2 and lines[0].startswith("02.1: right — ") and lines[1].startswith("02.1: not yet — ")
    )
    assert str(right) not in lines[1] and f"{right:,}" not in lines[1]


# --- each checker: a right answer passes, a wrong one fails ---------------------------------------------


@pytest.fixture(scope="module")
def evaluation(tiny_model, mnist):
    from helpers.data import scale_images
    from helpers.evaluate import evaluate_probabilities
    from helpers.predict import predict_probabilities

    return evaluate_probabilities(
        mnist.y_test[:2000], predict_probabilities(tiny_model, scale_images(mnist.x_test[:2000]))
    )


def both(key, right, wrongs, **context):
    """`right` passes `key`'s check and each of `wrongs` fails it."""
    assert check_exercise(key, right, **context) is True, f"{key}: a right answer failed"
    for wrong in wrongs:
        assert check_exercise(key, wrong, **context) is False, f"{key}: a wrong answer {wrong!r} passed"


def labels_only_split(mnist, **options):
    from helpers.data import split_train_val

    return split_train_val(np.zeros((len(mnist.y_train), 1, 1), np.uint8), mnist.y_train, **options)


def test_01_1_rarest_test_digit(mnist):
    counts = np.bincount(mnist.y_test, minlength=10)
    digit = int(counts.argmin())
    in_training = int(np.bincount(mnist.y_train)[digit])
    wrongs = [
        (int(counts.argmax()), int(counts.max())),
        (digit, counts[digit] + 1),
        (digit, in_training),
        "5",
    ]
    both("01.1", (digit, int(counts[digit])), wrongs)


def test_01_2_stratified_count(mnist):
    split = labels_only_split(mnist, val_fraction=0.15, seed=42)
    count = int((split.y_val == 5).sum())
    both("01.2", count, [count + 1, count + 50, int((split.y_train == 5).sum())], val_fraction=0.15, digit=5)
    other = int((labels_only_split(mnist, val_fraction=0.2, seed=42).y_val == 3).sum())
    both("01.2", other, [count], val_fraction=0.2, digit=3)


def test_01_3_scale():
    from helpers.data import scale_images

    def in_place(images):
        images //= 2
        return scale_images(images)

    by_hand = lambda images: (images.astype(np.float32) / 255)[..., None]  # noqa: E731
    wrongs = [
        lambda im: im / 255,
        lambda im: (im / 256).astype(np.float32)[..., None],
        lambda im: im.astype(np.float32)[..., None],
        in_place,
        scale_images(np.zeros((1, 28, 28))),  # a result, not the function
    ]
    both("01.3", by_hand, wrongs)


def test_01_4_most_ink(mnist):
    means = [mnist.x_train[mnist.y_train == d].mean() for d in range(10)]
    both("01.4", int(np.argmax(means)), [int(np.argmin(means)), int(np.argsort(means)[-2])])


def test_01_5_share_gap():
    def share_gap(a, b):
        return np.abs(np.bincount(a, minlength=10) / len(a) - np.bincount(b, minlength=10) / len(b)).max()

    counts = lambda a, b: np.abs(np.bincount(a, minlength=10) - np.bincount(b, minlength=10)).max()  # noqa: E731
    no_minlength = lambda a, b: np.abs(np.bincount(a) / len(a) - np.bincount(b)[: a.max() + 1] / len(b)).max()  # noqa: E731
    both("01.5", share_gap, [counts, no_minlength])


def test_02_1_dense_512():
    dense = next(layer for layer in models.build_seed_cnn().layers if getattr(layer, "units", 0) == 512)
    both(
        "02.1",
        dense.count_params(),
        [dense.count_params() - 512, models.count_parameters(models.build_seed_cnn())],
    )


def test_02_2_compact_widths():
    def by_hand(widths):
        total, channels = 0, 1
        for width in widths:
            total, channels = total + 9 * channels * width + 4 * width, width
        return total + 9 * channels * 10 + 10

    # The checker's network is build_compact_cnn with other widths: same count for the real widths.
    assert (
        models.count_parameters(exercises.compact_cnn_with((32, 64, 128)))
        == models.count_parameters(models.build_compact_cnn())
        == by_hand((32, 64, 128))
    )
    right = by_hand((16, 32, 64))
    both("02.2", right, [right - 2 * (16 + 32 + 64), right + 16 + 32 + 64, by_hand((32, 64, 128))])
    both("02.2", by_hand((8, 8, 8)), [right], widths=(8, 8, 8))


def _small_builder(dropout=0.25):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(4),
            keras.layers.Flatten(),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10, activation="softmax"),
        ],
    )


def test_02_3_own_network(registered):
    def unregistered(dropout=0.25):
        return _small_builder(dropout)

    registered += ["exercise_small", "exercise_big"]
    models.register_model("exercise_small")(_small_builder)
    big = models.register_model("exercise_big")(lambda: models.build_mlp())
    both("02.3", _small_builder, [unregistered, big, models.build_compact_cnn, "exercise_small"])
    assert check_exercise("02.3", big, max_parameters=10**7) is True


def test_02_4_peak_step():
    cfg = TrainConfig(epochs=2)
    schedule = models.learning_rate(cfg, 50)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(100)]
    peak = int(np.argmax(rates))
    both("02.4", peak, [0, peak + 1, peak + 10, round(50 * cfg.warmup)], config=cfg, steps_per_epoch=50)
    with pytest.raises(ValueError, match="one-cycle"):
        check_exercise("02.4", peak, config=TrainConfig(schedule="plateau"), steps_per_epoch=50)


def _variant(record, temperature=None, loss_gap=None, **changes):
    """A copy of a run record with other config values, temperature, or last-epoch loss gap."""
    record = copy.deepcopy(record)
    record["config"].update(changes)
    if temperature is not None:
        record["temperature"] = temperature
    if loss_gap is not None:
        record["history"]["val_loss"][-1] = 0.5
        record["history"]["loss"][-1] = 0.5 + loss_gap
    return record


def test_02_5_smoothing_temperature(tiny_run, capsys):
    record = tiny_run.result.record
    smoothed = _variant(record, temperature=0.5, label_smoothing=0.1)
    for plain_t, runs_say in ((0.9, "your two runs agree"), (0.3, "your two short runs show the opposite")):
        plain = _variant(record, temperature=plain_t, label_smoothing=0.0)
        both("02.5", "higher", ["lower", "same"], smoothed=smoothed, plain=plain)
        capsys.readouterr()
        check_exercise("02.5", "higher", smoothed=smoothed, plain=plain)
        assert runs_say in capsys.readouterr().out
    with pytest.raises(ValueError, match="differ only in label_smoothing; they also differ in epochs"):
        check_exercise(
            "02.5", "higher", smoothed=smoothed, plain=_variant(record, label_smoothing=0.0, epochs=9)
        )


def test_02_6_augment_gap(tiny_run, capsys):
    record = tiny_run.result.record
    augmented = _variant(record, loss_gap=0.1, augment=True)
    for plain_gap, runs_say in ((0.0, "your two runs agree"), (0.3, "your two short runs show the opposite")):
        plain = _variant(record, loss_gap=plain_gap, augment=False)
        both("02.6", "shrinks", ["grows"], augmented=augmented, plain=plain)
        capsys.readouterr()
        check_exercise("02.6", "shrinks", augmented=augmented, plain=plain)
        assert runs_say in capsys.readouterr().out
    with pytest.raises(ValueError, match="augment=False"):
        check_exercise("02.6", "grows", augmented=_variant(record, augment=False), plain=augmented)


def test_02_7_plain_recipe(tiny_run, tiny_model):
    import keras

    run_dir = str(tiny_run.paths.root)
    untrained = keras.models.clone_model(tiny_model)  # random weights: far behind, on the same digits

    class Doubled(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    foreign = keras.Sequential([keras.Input((28, 28, 1)), Doubled(), keras.layers.Flatten(),
                                keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    both("02.7", tiny_model, [untrained, foreign, "a model"], run_dir=run_dir)


def test_03_1_precision_recall(evaluation):
    row = evaluation.report()["9"]
    right = (row["precision"], row["recall"])
    both(
        "03.1",
        right,
        [right[::-1], (right[0] + 0.01, right[1]), (right[0], right[1] - 0.002)],
        evaluation=evaluation,
        digit=9,
    )
    assert right[0] != right[1]  # so that swapping them is a wrong answer


def test_03_2_macro_f1(evaluation):
    def unpack(cm):
        return np.repeat(np.arange(10), cm.sum(axis=1)), np.concatenate(
            [np.repeat(np.arange(10), r) for r in cm]
        )

    def with_sklearn(average):
        return lambda cm: f1_score(*unpack(cm), average=average, labels=range(10), zero_division=0)

    accuracy = lambda cm: np.trace(cm) / cm.sum()  # noqa: E731
    both("03.2", with_sklearn("macro"), [with_sklearn("weighted"), accuracy], evaluation=evaluation)


def test_03_3_normal_interval(evaluation):
    from helpers.evaluate import accuracy_interval

    p, n = evaluation.accuracy, len(evaluation.y_true)
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    z2 = half * 2 / 1.96
    wrongs = [accuracy_interval(p, n), (p - z2, p + z2), (p + half, p - half), (p - half, p + 2 * half)]
    both("03.3", (p - half, p + half), wrongs, evaluation=evaluation)


def test_03_4_most_confident(evaluation):
    kept = np.argsort(-evaluation.confidence, kind="stable")[: round(0.9 * len(evaluation.y_true))]
    right = float(evaluation.correct[kept].mean())
    assert right - evaluation.accuracy > 0.01
    both("03.4", right, [evaluation.accuracy, right - 0.01], evaluation=evaluation)


def test_03_5_flagged_mistakes(evaluation, tiny_run):
    threshold = tiny_run.result.record["confidence_threshold"]["value"]
    below = evaluation.confidence < threshold
    right = float(below[~evaluation.correct].mean())
    both("03.5", right, [float(below.mean()), 1 - right], evaluation=evaluation, threshold=threshold)


def test_04_1_rotation(tiny_model, mnist):
    from helpers.data import scale_images
    from helpers.predict import predict_probabilities

    x, y = scale_images(mnist.x_test[:100]), mnist.y_test[:100]
    for angle in range(0, 91, 5):
        rotated = ndimage.rotate(x, angle, axes=(1, 2), reshape=False, order=1)
        if (predict_probabilities(tiny_model, rotated).argmax(axis=1) == y).mean() < 0.5:
            break
    else:
        pytest.fail("the tiny model should not survive a 90-degree rotation")
    both("04.1", angle, [angle + 5, angle - 5, angle + 20, 7], model=tiny_model, n=100)


def test_04_2_ink_is_dark():
    from helpers.preprocess import make_ink_bright

    cases = exercises.ink_test_images()
    assert all((make_ink_bright(grey) is not grey) == dark for grey, dark in cases), "the reference agrees"
    assert any(dark and grey.mean() < 0.5 for grey, dark in cases) or any(
        not dark and grey.mean() > 0.5 for grey, dark in cases
    ), "some image where 'mostly bright' is the wrong rule"
    both(
        "04.2",
        lambda grey: make_ink_bright(grey) is not grey,
        [lambda grey: grey.mean() > 0.5, lambda grey: True, lambda grey: grey[0, 0] < 0.5],
    )


def test_04_3_semeion_flagged(tiny_model):
    from helpers.data import DigitSet, load_semeion
    from helpers.predict import predict_images

    semeion = load_semeion()
    digits = DigitSet("a few of Semeion's", semeion.sources[:40], semeion.labels[:40], semeion.kinds[:40])
    answers = predict_images(tiny_model, digits.sources)
    right = float(np.mean([a.flagged for a in answers]))
    wrong = float(np.mean([a.digit != label for a, label in zip(answers, digits.labels, strict=True)]))
    wrongs = [right + 0.1] + ([wrong] if abs(wrong - right) > 1e-3 else [])
    both("04.3", right, wrongs, model=tiny_model, digits=digits)


@pytest.mark.slow
def test_04_4_centre_of_mass():
    from helpers.predict import list_images
    from helpers.preprocess import preprocess_image

    files = list_images(PROJECT_ROOT / "data" / "samples")
    row, col = np.mean([ndimage.center_of_mass(preprocess_image(f).image) for f in files], axis=0)
    both("04.4", (row, col), [(13.5, 13.5), (row + 2, col), (10, 10), 14])
    assert check_exercise("04.4", (14, 14)) is True  # MNIST's convention, which the preprocessing follows


def test_05_1_fgsm_half(tiny_model, mnist):
    from helpers.data import scale_images
    from helpers.trust import FGSM_EPSILONS, attack_accuracy

    accuracy = attack_accuracy(tiny_model, scale_images(mnist.x_test[:200]), mnist.y_test[:200])
    halved = [e for e in FGSM_EPSILONS if e > 0 and accuracy[e] <= accuracy[0.0] / 2]
    right = halved[0] if halved else None
    others = [e for e in FGSM_EPSILONS if e != right]
    both(
        "05.1",
        right,
        [others[-1], others[1], None if right is not None else 0.1, 0.123],
        model=tiny_model,
        n=200,
    )


def test_05_2_ece(evaluation):
    from helpers.trust import reliability

    def unweighted(p, y):
        r = reliability(p, y, bins=10)
        return np.abs(r.accuracy - r.confidence)[r.counts > 0].mean()

    both(
        "05.2",
        lambda p, y: reliability(p, y, bins=10).ece,
        [lambda p, y: reliability(p, y).ece, unweighted, lambda p, y: reliability(p, y, bins=10)],
        evaluation=evaluation,
    )


def test_05_3_completeness(tiny_model):
    from helpers.predict import predict_probabilities
    from helpers.trust import integrated_gradients

    def gap(model, images, classes, steps):
        rows = np.arange(len(images))
        rise = (predict_probabilities(model, images) - predict_probabilities(model, np.zeros_like(images)))[
            rows, classes
        ]
        return integrated_gradients(model, images, classes, steps).reshape(len(images), -1).sum(axis=1) - rise

    wrongs = [lambda *args: gap(*args) + 0.01, lambda *args: -gap(*args), lambda *args: gap(*args)[:2]]
    both("05.3", gap, wrongs, model=tiny_model)


def test_05_4_own_corruption():
    def salt(images, seed):
        out = images.copy()
        out[np.random.default_rng(seed).random(images.shape) < 0.1] = 255
        return out

    def in_place(images, seed):
        images[:, :4] = 255
        return images.copy()

    def unseeded(images, seed):
        return np.maximum(images, np.random.randint(0, 255, images.shape).astype(np.uint8))

    both(
        "05.4",
        salt,
        [
            lambda images, seed: images.copy(),
            lambda images, seed: salt(images, seed) / 255.0,
            unseeded,
            in_place,
            lambda images, seed: salt(images, seed)[0],
        ],
    )


def test_05_5_temperature(evaluation):
    from helpers.evaluate import apply_temperature
    from helpers.trust import reliability

    softened = apply_temperature(evaluation.probabilities, 2.0)
    accuracy = float((softened.argmax(axis=1) == evaluation.y_true).mean())
    before, after = (reliability(p, evaluation.y_true).ece for p in (evaluation.probabilities, softened))
    direction, other = ("rises", "falls") if after > before else ("falls", "rises")
    both(
        "05.5",
        (accuracy, direction),
        [(accuracy, other), (accuracy - 0.01, direction), (accuracy, "same")],
        evaluation=evaluation,
    )


def test_06_1_classifier_weights(tiny_model):
    classifier = tiny_model.layers[-1]
    right = classifier.count_params()
    both("06.1", right, [tiny_model.count_params(), int(np.prod(classifier.kernel.shape)), right + 1],
         model=tiny_model)  # fmt: skip


def test_06_2_draw_per_digit():
    from helpers.adapt import draw_per_digit

    def with_repeats(labels, pool, k, seed):
        rng = np.random.default_rng(seed)
        return np.concatenate([rng.choice(np.flatnonzero(pool & (labels == d)), k) for d in range(10)])

    def anywhere(labels, pool, k, seed):
        return draw_per_digit(labels, np.ones_like(pool), k, seed)

    def unseeded(labels, pool, k, seed):
        return draw_per_digit(labels, pool, k, np.random.randint(10**6))

    def same_always(labels, pool, k, seed):
        return draw_per_digit(labels, pool, k, 0)

    def ten_k(labels, pool, k, seed):
        return np.random.default_rng(seed).choice(np.flatnonzero(pool), 10 * k, replace=False)

    both("06.2", draw_per_digit, [with_repeats, anywhere, unseeded, same_always, ten_k, lambda *a: 3])


@pytest.mark.slow
def test_06_3_without_replay(tiny_model, tiny_run):
    from helpers.adapt import AdaptConfig, adapt_arrays
    from helpers.evaluate import score_model

    split = tiny_run.split
    images, labels = split.x_train[:100], split.y_train[:100]
    held = split.x_val[2000:], split.y_val[2000:]
    right = score_model(
        adapt_arrays(tiny_model, images, labels, config=AdaptConfig(replay=0), mnist=split), *held
    ).accuracy
    with_replay = score_model(adapt_arrays(tiny_model, images, labels, mnist=split), *held).accuracy
    wrongs = [right + 0.01, score_model(tiny_model, *held).accuracy] + (
        [with_replay] if abs(with_replay - right) > 1e-3 else []
    )
    both("06.3", right, wrongs, model=tiny_model, examples=(images, labels), split=split)


def test_06_4_nearest_mean():
    def nearest_mean(features, labels, queries):
        means = np.stack([features[labels == d].mean(axis=0) for d in range(10)])
        return np.linalg.norm(queries[:, None] - means[None], axis=2).argmin(axis=1)

    def nearest_example(features, labels, queries):
        return labels[np.linalg.norm(queries[:, None] - features[None], axis=2).argmin(axis=1)]

    def by_cosine(features, labels, queries):
        means = np.stack([features[labels == d].mean(axis=0) for d in range(10)])
        return (queries @ means.T / np.linalg.norm(means, axis=1)).argmax(axis=1)

    both("06.4", nearest_mean, [nearest_example, by_cosine, lambda f, y, q: nearest_mean(f, y, q)[:5]])


def test_07_1_seeds_needed():
    both("07.1", 26, [13, 25, 100, "many"], std=0.0009, gap=0.0005)  # 8 * 0.81e-6 / 0.25e-6 = 25.92


def test_07_2_small_space():
    from helpers.config import TrainConfig

    def right(trial):
        return TrainConfig(learning_rate=trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
                           width=trial.suggest_categorical("width", [16, 32, 48]))  # fmt: skip

    def linear(trial):
        return TrainConfig(learning_rate=trial.suggest_float("learning_rate", 1e-3, 1e-2),
                           width=trial.suggest_categorical("width", [16, 32, 48]))  # fmt: skip

    def too_much(trial):
        return TrainConfig(learning_rate=trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
                           width=trial.suggest_categorical("width", [16, 32, 48]), epochs=3)  # fmt: skip

    def wide(trial):
        return TrainConfig(learning_rate=trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True))

    both("07.2", right, [linear, too_much, wide, lambda trial: {"learning_rate": 0.003}])


def test_07_3_epochs_saved():
    import optuna
    from optuna.trial import TrialState

    study = optuna.create_study(direction="maximize")
    for asked, reported, state in (
        (8, 2, TrialState.PRUNED),
        (6, 3, TrialState.PRUNED),
        (5, 5, TrialState.COMPLETE),
    ):
        study.enqueue_trial({"epochs": asked})
        trial = study.ask()
        trial.suggest_int("epochs", 1, 8)
        for step in range(1, reported + 1):
            trial.report(0.5, step)
        study.tell(trial, 0.9 if state == TrialState.COMPLETE else None, state=state)
    both("07.3", 9, [14, 2, 8], study=study)  # (8 - 2) + (6 - 3); not all of 8 + 6, not the 2 trials
    fixed = optuna.create_study(direction="maximize")  # epochs not searched: every trial trains max_epochs
    fixed.set_user_attr("scale", {"max_epochs": 18})
    trial = fixed.ask()
    trial.suggest_float("learning_rate", 1e-3, 1e-2)
    for step in range(1, 5):
        trial.report(0.5, step)
    fixed.tell(trial, None, state=TrialState.PRUNED)
    both("07.3", 14, [18, 4, 1], study=fixed)


def test_every_checker_is_tested_here():
    tested = {
        name.split("_", 2)[1] + "." + name.split("_", 2)[2][0]
        for name in globals()
        if re.match(r"test_\d\d_\d", name)
    }
    assert tested == set(EXERCISES)

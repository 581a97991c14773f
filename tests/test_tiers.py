"""The test tiers themselves: what keeps the fast tier fast and the quick course to one run."""

from types import SimpleNamespace

from conftest import QUICK_COURSE_FILE, quick_course_elsewhere

from helpers.config import PROJECT_ROOT


def item(nodeid: str, *fixtures: str) -> SimpleNamespace:
    """What the collection checks read of a collected test."""
    return SimpleNamespace(nodeid=nodeid, fixturenames=["tmp_path", *fixtures])


def test_the_quick_course_is_read_from_one_file_only():
    inside = item(f"{QUICK_COURSE_FILE}::test_ctrl_c", "quick_course")
    outside = item("tests/test_exercises.py::test_on_the_course", "quick_course")
    elsewhere_without = item("tests/test_exercises.py::test_other")
    problems = quick_course_elsewhere([inside, outside, elsewhere_without])
    assert problems == [
        "tests/test_exercises.py::test_on_the_course uses the quick course: move it to tests/test_make.py, "
        "which runs it once"
    ]


def test_both_tiers_give_each_worker_whole_files():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "WORKERS_FLAGS = -n $(TEST_WORKERS) --dist loadfile\n" in makefile
    recipes = [makefile.split(f"\n{target}: ")[1].split("\n\n")[0] for target in ("test-fast", "test")]
    tiers = [line for recipe in recipes for line in recipe.splitlines() if "-m pytest" in line]
    assert len(tiers) == 3 and all("$(WORKERS_FLAGS) tests" in line for line in tiers)

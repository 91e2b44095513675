"""Dotted keys over nested config mappings: the one walker every module uses."""

from tune_jobs.nested import (
    MISSING,
    deep_merge,
    get_dotted,
    grid_expansion,
    has_path,
    set_dotted,
    without_dotted,
)


def test_get_tells_a_missing_path_from_a_none_value():
    tree = {"optimizer": {"lr": 0.1, "betas": None}, "depth": 2}
    assert get_dotted(tree, "optimizer.lr") == 0.1
    assert get_dotted(tree, "optimizer.betas") is None
    assert get_dotted(tree, "optimizer.eps") is MISSING
    assert get_dotted(tree, "depth.x", default=7) == 7  # through a leaf
    assert has_path(tree, "optimizer.betas") and not has_path(tree, "optimizer.eps")


def test_set_creates_parents_and_without_copies():
    tree: dict = {"a": 1}
    set_dotted(tree, "b.c.d", 2)
    assert tree == {"a": 1, "b": {"c": {"d": 2}}}
    smaller = without_dotted(tree, "b.c.d")
    assert smaller == {"a": 1, "b": {"c": {}}}
    assert tree["b"]["c"]["d"] == 2  # the original is untouched
    assert without_dotted(tree, "x.y") == tree


def test_merge_and_grid_expansion():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}
    # a variant fixing optimizer.lr leaves only the depth grid open
    assert grid_expansion({"optimizer": {"lr": 0.1}}, {"optimizer.lr": 3, "depth": 2}) == 2
    assert grid_expansion({"optimizer.lr": 0.1}, {"optimizer.lr": 3, "depth": 2}) == 2

"The mutation tool itself (tito/mutation.py) on a toy module: one mutant the graded cell kills, one it misses."
import io
import textwrap

from tito.mutation import find_mutants, mutate_module, report, solution_lines

TOY = textwrap.dedent('''\
    # %% [markdown]
    # # A toy module

    # %% nbgrader={"grade": false, "grade_id": "toy-code", "locked": false, "schema_version": 3, "solution": true, "task": false}
    def double(x):
        ### BEGIN SOLUTION
        return x * 2
        ### END SOLUTION

    def is_big(x):
        ### BEGIN SOLUTION
        return x > 10
        ### END SOLUTION

    helper = 3 * 3  # outside the solution blocks: never mutated

    # %% nbgrader={"grade": true, "grade_id": "toy-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
    assert double(3) == 6, "double(3) must be 6"  # names the function, as every graded message should
    assert is_big(11) and not is_big(3)  # 10 itself is never tried: `>=` survives
    ''')

OPERATORS = ["core/ReplaceBinaryOperator_Mul_Add", "core/ReplaceComparisonOperator_Gt_GtE"]


def toy(tmp_path):
    path = tmp_path / "00_toy" / "toy_dev.py"
    path.parent.mkdir()
    path.write_text(TOY)
    return path


def test_only_lines_inside_solution_blocks_are_mutated():
    inside = solution_lines(TOY)
    lines = TOY.splitlines()
    assert {lines[n - 1].strip() for n in inside} == {"return x * 2", "return x > 10"}
    mutants = find_mutants(TOY, OPERATORS)
    assert [m.mutated_line.strip() for m in mutants] == ["return x + 2", "return x >= 10"]


def test_a_mutant_is_killed_when_a_graded_cell_loses_points_and_survives_otherwise(tmp_path):
    result = mutate_module(toy(tmp_path), jobs=2, equivalent={}, module="00", operators=OPERATORS)
    assert result["baseline"] == {"toy-tests": True}
    status = {m.mutated_line.strip(): (m.status, m.lost) for m in result["mutants"]}
    assert status == {"return x + 2": ("killed", ["toy-tests"]), "return x >= 10": ("survived", [])}
    out = io.StringIO()
    (row,) = report([result], out)
    assert (row["mutants"], row["killed"], row["survived"], row["score"]) == (2, 1, 1, 0.5)
    assert row["pointed"] == 1, "the killed mutant's failure names the function it changed (double)"
    assert "- return x > 10\n  + return x >= 10" in out.getvalue(), "survivors are shown with their diff"


def test_a_reviewed_equivalent_mutant_counts_in_neither_column(tmp_path):
    equivalent = {("00", "core/ReplaceComparisonOperator_Gt_GtE", "return x > 10", "return x >= 10"): "toy reason"}
    result = mutate_module(toy(tmp_path), jobs=1, equivalent=equivalent, module="00", operators=OPERATORS)
    out = io.StringIO()
    (row,) = report([result], out)
    assert (row["killed"], row["survived"], row["equivalent"], row["score"]) == (1, 0, 1, 1.0)
    assert "toy reason" in out.getvalue()


def test_an_equivalent_entry_that_names_no_mutant_is_reported_stale(tmp_path):
    equivalent = {("00", "core/ReplaceComparisonOperator_Gt_GtE", "return x > 11", "return x >= 11"): "old code"}
    result = mutate_module(toy(tmp_path), jobs=1, equivalent=equivalent, module="00", operators=OPERATORS)
    out = io.StringIO()
    report([result], out)
    assert result["stale"] == list(equivalent) and "stale entry" in out.getvalue()


def test_a_mutant_that_hangs_is_killed_by_the_timeout(tmp_path):
    path = toy(tmp_path)
    path.write_text(TOY.replace("return x * 2", "while x * 2 != 6: pass\n    return x * 2"))
    result = mutate_module(path, jobs=1, timeout=5, equivalent={}, module="00",
                           operators=["core/ReplaceBinaryOperator_Mul_Add"])
    hung = [m for m in result["mutants"] if "while x + 2" in m.mutated_line]
    assert hung and hung[0].status == "killed" and hung[0].lost == ["(crashed or timed out)"]

"""The command line: results on stdout, bad input refused with exit 2 and one stderr line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from alloc_helpers import SPEC

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((SPEC / "example-night.json").read_text(encoding="utf-8"))


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "allocator", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_solve_writes_a_valid_result():
    schema = json.loads((SPEC / "result.schema.json").read_text(encoding="utf-8"))
    for rule in ("need", "first-come"):
        done = cli("solve", str(SPEC / "example-night.json"), "--rule", rule, "--time-limit", "5")
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        jsonschema.Draft202012Validator(schema).validate(result)
        assert result["rule"] == rule and result["status"] == "optimal"
        assert "placed_by_need" in result and "solve_seconds" in result


def test_solve_reads_stdin():
    done = cli("solve", "-", stdin=json.dumps(EXAMPLE))
    assert done.returncode == 0
    assert len(json.loads(done.stdout)["assignments"]) == 6


def edit(**changes):
    night = json.loads(json.dumps(EXAMPLE))
    for key, value in changes.items():
        night[key] = value
    return night


BAD = {
    "invalid json": ("{not json", "invalid JSON"),
    "schema: need too high": (
        edit(requests=[{"person": "a", "gender": "man", "need": 101}]), "requests[0].need"),
    "schema: unknown field": (edit(colour="red"), "colour"),
    "schema: bad date": (edit(night="25.11.2026"), "night: '25.11.2026' is not a 'date'"),
    "schema: missing beds": ({"night": "2026-11-25", "requests": []}, "beds"),
    "duplicate bed": (edit(beds=EXAMPLE["beds"] + [{"id": "strax-1", "site": "x"}]),
                      "beds[6].id: duplicate id 'strax-1'"),
    "duplicate site": (edit(sites=EXAMPLE["sites"] + [{"id": "ung"}]), "sites[4].id"),
    "duplicate person": (edit(requests=EXAMPLE["requests"] + [
        {"person": "a", "gender": "man", "need": 1}]), "requests[8].person"),
    "duplicate hold id": (edit(holds=EXAMPLE["holds"] + [{"id": "h1", "person": "b", "site": "ung"}]),
                          "holds[1].id"),
    "unknown hold bed": (edit(holds=[EXAMPLE["holds"][0], {"id": "h2", "person": "a", "bed": "x-9"}]),
                         "holds[1].bed: unknown bed 'x-9'"),
    "unknown hold person": (edit(holds=[{"id": "h2", "person": "zz", "bed": "strax-1"}]),
                            "holds[0].person: unknown person 'zz'"),
    "unknown hold site": (edit(holds=[{"id": "h2", "person": "a", "site": "mars"}]),
                          "holds[0].site: unknown site 'mars'"),
    "hold names nothing": (edit(holds=[{"id": "h2", "person": "a"}]), "hold 'h2'"),
    "pair names one person twice": (edit(keep_apart=[["d", "d"]]), "keep_apart[0]"),
    "two holds on one bed": (edit(holds=[{"id": "1", "person": "a", "bed": "strax-1"},
                                         {"id": "2", "person": "d", "bed": "strax-1"}]),
                             "holds[1].bed: bed 'strax-1' is already held"),
    "hold on ineligible bed": (edit(holds=[{"id": "1", "person": "a", "bed": "kvinne-1"}]),
                               "holds[0].bed: bed 'kvinne-1' is not eligible for 'a'"),
    "site hold with no eligible bed": (edit(holds=[{"id": "1", "person": "a", "site": "kvinnehuset"}]),
                                       "holds[0].site: no free bed"),
    "keep-apart pair held at one site": (
        edit(keep_apart=[["d", "a"]], holds=[{"id": "1", "person": "d", "site": "strax"},
                                             {"id": "2", "person": "a", "bed": "strax-1"}]),
        "must be kept apart but are both held at 'strax'"),
    "person with two holds": (edit(holds=[{"id": "1", "person": "a", "bed": "strax-1"},
                                          {"id": "2", "person": "a", "site": "sandviken"}]),
                              "holds[1].person: person 'a' already has hold '1'"),
    "too many site holds": (edit(holds=[{"id": "1", "person": "a", "site": "sandviken"},
                                        {"id": "2", "person": "d", "site": "sandviken"}]),
                            "holds[1].site"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(case):
    night, expected = BAD[case]
    text = night if isinstance(night, str) else json.dumps(night)
    done = cli("solve", "-", stdin=text)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]


def test_missing_file_is_bad_input(tmp_path):
    done = cli("solve", str(tmp_path / "nope.json"))
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.splitlines()) == 1


def test_generate_writes_a_night_the_solver_accepts():
    done = cli("generate", "--sites", "4", "--beds", "30", "--requests", "40", "--seed", "3")
    assert done.returncode == 0, done.stderr
    solved = cli("solve", "-", stdin=done.stdout)
    assert solved.returncode == 0, solved.stderr


def test_generate_takes_real_life_rates():
    done = cli("generate", "--sites", "10", "--beds", "300", "--requests", "400", "--seed", "3",
               "--hold-rate", "0.05", "--keep-apart-rate", "0.006", "--ban-rate", "0.03")
    assert done.returncode == 0, done.stderr
    night = json.loads(done.stdout)
    assert len(night["barred"]) == 12 and 1 <= len(night["keep_apart"]) <= 2
    bad = cli("generate", "--keep-apart-rate", "0.7")
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.splitlines()) == 1

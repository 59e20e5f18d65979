"""The plan file: LPS and RAS round trips, and each kind of bad plan named in one line."""

import json
import math

import numpy as np
import pytest

from FLRSegmentationLib.errors import InputError
from FLRSegmentationLib.resection.plan import BezierCut, PlaneCut, plan_from_json, read_plan, write_plan

RNG = np.random.default_rng(5)


def plan_json(system="LPS") -> dict:
    points = RNG.normal(0, 40, (16, 3)).tolist()
    return {"coordinate_system": system,
            "resections": [{"name": "right", "type": "plane", "origin": [12.5, -80.25, 310.0],
                            "normal": [-0.7, 0.1, -0.2]},
                           {"name": "wedge", "type": "bezier", "control_points": points}]}


@pytest.mark.parametrize("system", ["LPS", "RAS"])
def test_round_trip_in_either_system_is_the_identity(tmp_path, system):
    data = plan_json(system)
    plan = plan_from_json(data)
    assert plan.to_json() == data
    path = tmp_path / "plan.json"
    write_plan(path, plan)
    assert json.loads(path.read_text()) == data
    assert read_plan(path) == plan


def test_lps_ras_conversion_negates_x_and_y_exactly():
    lps = plan_from_json(plan_json("LPS"))
    ras_json = lps.to_json("RAS")
    assert ras_json["resections"][0]["origin"] == [-12.5, 80.25, 310.0]
    assert ras_json["resections"][0]["normal"] == [0.7, -0.1, -0.2]
    ras = plan_from_json(ras_json)
    assert ras.resections == lps.resections  # held in LPS either way
    assert ras.to_json("LPS") == lps.to_json()  # and back, bit for bit
    back = plan_from_json(json.loads(json.dumps(ras.to_json("LPS"))))
    assert back.resections == lps.resections
    assert isinstance(back.resections[0], PlaneCut) and isinstance(back.resections[1], BezierCut)


def bad(data):
    with pytest.raises(InputError) as error:
        plan_from_json(data, "plan p.json")
    message = str(error.value)
    assert "\n" not in message and message.startswith("plan p.json")
    return message


def test_bad_plans_are_one_line_each():
    data = plan_json()
    assert "resection 1 ('right'): the normal has length 0" in bad(
        {**data, "resections": [{**data["resections"][0], "normal": [0, 0, 0]}]})
    fifteen = {**data["resections"][1], "control_points": data["resections"][1]["control_points"][:15]}
    assert "holds 15 points; a bicubic patch needs 16" in bad({**data, "resections": [fifteen]})
    nan_plane = {**data["resections"][0], "origin": [math.nan, 0.0, 1.0]}
    assert "NaN or infinite" in bad({**data, "resections": [nan_plane]})
    assert "coordinate_system" in bad({**data, "coordinate_system": "XYZ"})
    assert "unknown field(s) 'normals'" in bad(
        {**data, "resections": [{"name": "a", "type": "plane", "origin": [0, 0, 0], "normals": [1, 0, 0]}]})
    assert "two resections are named 'right'" in bad({**data, "resections": [data["resections"][0]] * 2})
    assert "'type' is 'sphere'" in bad({**data, "resections": [{**data["resections"][0], "type": "sphere"}]})
    assert "non-empty list" in bad({**data, "resections": []})
    assert "must be 3 numbers" in bad({**data, "resections": [{**data["resections"][0], "origin": [1, 2]}]})
    assert "must be 3 numbers" in bad({**data, "resections": [{**data["resections"][0], "origin": [1, "2", 3]}]})
    line = [[float(k), 0.0, 0.0] for k in range(16)]
    assert "span no surface" in bad({**data, "resections": [{**data["resections"][1], "control_points": line}]})


def test_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("{'coordinate_system': LPS")
    with pytest.raises(InputError, match="is not JSON"):
        read_plan(path)
    path.write_text('{"coordinate_system": "LPS", "resections": [{"name": "a", "type": "plane", '
                    '"origin": [NaN, 0, 0], "normal": [1, 0, 0]}]}')  # Python's json reads NaN: refused after
    with pytest.raises(InputError, match="NaN or infinite"):
        read_plan(path)
    with pytest.raises(InputError, match="can't read plan"):
        read_plan(tmp_path / "missing.json")

"""Device notes (how slow the CPU will be, from a measured run) and the report's one-line summary."""

from FLRSegmentationModuleLib.device_choice import CpuTiming, device_note, format_duration, runs_on_cpu
from FLRSegmentationModuleLib.report_text import report_summary


def test_cpu_note_scales_the_measured_run_to_this_ct():
    note = device_note("cpu", True, voxels=20_000_000, last_cpu=CpuTiming(seconds=300, voxels=10_000_000))
    assert "much slower than a GPU" in note and "about 10 min for this CT" in note and "5 min for 10.0 M" in note


def test_cpu_note_without_a_measurement_says_so():
    assert "No CPU run measured" in device_note("auto", False, voxels=1000, last_cpu=None)


def test_gpu_notes():
    assert device_note("auto", True, 1000, None) == "Runs on the GPU."
    assert "no CUDA GPU" in device_note("cuda", False, 1000, None)
    assert runs_on_cpu("auto", None) and not runs_on_cpu("cuda", None)


def test_durations_read_naturally():
    assert [format_duration(s) for s in (12, 600, 9000)] == ["12 s", "10 min", "2.5 h"]


def test_summary_leads_with_flr_percent_and_names_a_demo_model():
    report = {"flr_percent": 38.04, "liver_ml": 1500.2, "crlm_ml": 20.0, "flr_ml": 563.0,
              "model": {"label": "demo-phantom 1.0.0 (demo - not for clinical use)"}}
    assert report_summary(report) == ("FLR 38.0 % of the functional liver (liver 1500 mL, CRLM 20 mL, FLR 563 mL); "
                                      "model demo-phantom 1.0.0 (demo - not for clinical use)")
    assert report_summary({"flr_percent": None, "model": {}}).startswith("FLR: no liver found")

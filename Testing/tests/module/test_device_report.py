"""Device notes (how slow the CPU will be, from a measured run) and the report's one-line summary."""

from FLRSegmentationModuleLib.device_choice import (DEMO_CPU_BENCHMARK, FULL_SIZE_CPU_NOTE, CpuTiming, device_note,
                                                    format_duration, runs_on_cpu)
from FLRSegmentationModuleLib.report_text import report_summary


def test_cpu_note_scales_the_run_measured_here_with_the_same_model_and_fast_option():
    here = CpuTiming(seconds=300, voxels=10_000_000, model_id="big", fast=True)
    note = device_note("cpu", True, 20_000_000, "big", demo=False, fast=True, last_cpu=here)
    assert "much slower than a GPU" in note
    assert "about 10 min for this CT (measured on this computer: 5 min for 10.0 M voxels)" in note
    assert "measured on this computer" not in device_note("cpu", True, 20_000_000, "big", False, False, here)


def test_demo_model_note_scales_the_benchmark():
    note = device_note("auto", False, 512 * 512 * 1000, "demo-phantom", demo=True, fast=False, last_cpu=None)
    assert note.endswith("Expect about 78 s for this CT (measured without Fast on 2 CPU cores, "
                         "Testing/BENCHMARKS.md: 16 s for 52.4 M voxels).")
    small = device_note("cpu", True, 512 * 512 * 150, "demo-phantom", demo=True, fast=False, last_cpu=None)
    assert "Expect under a minute for this CT" in small  # 12 s scaled, but start-up is not scaled
    assert DEMO_CPU_BENCHMARK.seconds == 15.5  # Testing/BENCHMARKS.md, optimised demo cascade, 512 x 512 x 200
    assert "Select a CT for an estimate" in device_note("cpu", None, None, "demo-phantom", True, False, None)


def test_full_size_model_note_gives_the_measured_basis():
    note = device_note("cpu", False, 1000, "full-size", demo=False, fast=True, last_cpu=None)
    assert note.endswith(FULL_SIZE_CPU_NOTE)
    assert "39 s per 128^3 patch on 2 CPU cores" in note and "98 patches" in note and "Use a GPU" in note


def test_gpu_notes():
    assert device_note("auto", True, 1000, "m", False, False, None) == "Runs on the GPU."
    assert "no CUDA GPU" in device_note("cuda", False, 1000, "m", False, False, None)
    assert runs_on_cpu("auto", None) and not runs_on_cpu("cuda", None)


def test_durations_read_naturally():
    assert [format_duration(s) for s in (12, 600, 9000)] == ["12 s", "10 min", "2.5 h"]


def test_summary_leads_with_flr_percent_and_names_a_demo_model():
    report = {"flr_percent": 38.04, "liver_ml": 1500.2, "crlm_ml": 20.0, "flr_ml": 563.0,
              "model": {"label": "demo-phantom 1.0.0 (demo - not for clinical use)"}}
    assert report_summary(report) == ("FLR 38.0 % of the functional liver (liver 1500 mL, CRLM 20 mL, FLR 563 mL); "
                                      "model demo-phantom 1.0.0 (demo - not for clinical use)")
    assert report_summary({"flr_percent": None, "model": {}}).startswith("FLR: no liver found")


def test_summary_leads_with_the_headline_verdict_when_the_report_has_one():
    from FLRSegmentationLib.volumetry.flr_assessment import AssessmentOptions, assess

    volumes = {"liver_ml": 600.0, "crlm_ml": 0.0, "crlm_count": 0, "functional_liver_ml": 600.0, "flr_ml": 270.0,
               "flr_percent": 45.0}
    report = {**assess(volumes, AssessmentOptions(160, 90)), "model": {"label": "demo"}}
    assert report_summary(report).startswith("Insufficient: sFLR 15.52 % is at or below the minimum of 20 %")

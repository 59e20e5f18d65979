"""`flrseg segment`: check every input first, load the model once, then segment and write each case.

Bad input stops the run before anything is written; the model is unpacked into a private temporary folder
(mode 0700) that is removed at the end, whatever happens. torch and nnunetv2 are imported only when a run starts,
so the other `flrseg` commands start quickly. In a batch, a reader thread reads the next CT while the current one
is segmented (one case ahead, so at most two CTs are in memory); cases are still written in input order and a bad
file still stops the run when its turn comes.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DeviceError, InputError, ModelError
from ..imaging.ct_input import case_name, check_input, dicom_study, read_ct
from ..imaging.output_paths import check_apart
from ..models.domain import domain_warnings
from ..models.packages import ModelPackage, resolve_model
from ..volumetry.flr_assessment import AssessmentOptions, assess
from ..volumetry.result_warnings import DEMO_MODEL, warning
from ..volumetry.segmentation_volumes import measure_label_map_volumes
from .case_outputs import LABEL_VALUES, ExtraWriter, output_paths, software_versions, write_case
from .postprocess import PostprocessRules
from .progress import ProgressReporter
from .speed_options import SpeedOptions
from .stage_io import CROP_MARGIN_MM

DEFAULT_MODEL = "demo-phantom"
# (case, input path, read CT) -> the writer of a case's extra files (its DICOM objects), or None for none
ExtraOutputs = Callable[[str, Path, object], ExtraWriter | None]


@dataclass(frozen=True)
class SegmentOptions:
    model: str = DEFAULT_MODEL
    strategy: str = "cascade"
    device: str = "auto"
    fast: bool = False
    rules: PostprocessRules = PostprocessRules()
    margin_mm: float = CROP_MARGIN_MM
    quiet: bool = True
    assessment: AssessmentOptions = AssessmentOptions()  # height, weight, condition: sFLR and verdicts
    speed: SpeedOptions = SpeedOptions()  # tile overlap, mirroring, precision, and the engine's switches
    locator: str | None = None  # another model (registry id or path) whose liver stage locates the liver
    preview: bool = False  # also write <case>_preview.png (slices with outlines, volume bar)


def resolve_device(choice: str):
    """The torch.device for --device auto|cpu|cuda; cuda without a GPU is refused."""
    import torch

    if choice == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if choice == "cuda":
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise DeviceError(f"--device cuda: PyTorch ({torch.__version__}, {build}) sees no CUDA GPU; "
                          f"use --device cpu (slower) or --device auto")
    return torch.device("cpu")


def checked_cases(inputs: list[Path], names: list[str] | None = None) -> list[tuple[str, Path]]:
    """(case name, path) for every input, after a header-only check of each; duplicate case names are refused.
    names, where given, replace the names case_name derives (a PACS case is named by its series UID)."""
    cases = []
    for index, path in enumerate(inputs):
        check_input(path)
        cases.append((names[index] if names else case_name(path), path))
    names = [name for name, _ in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"several inputs would write outputs named {', '.join(duplicates)}; "
                         f"rename them or run them into different output folders")
    return cases


def check_outputs_apart(out_dir: Path, cases: list[tuple[str, Path]]) -> None:
    """The output folder is no input nor inside one, and no case's output file would replace any input."""
    inputs = [("input", path) for _, path in cases]
    check_apart([("output folder", out_dir)], inputs)
    for case, _ in cases:
        check_apart([(f"the output of case {case}", p) for p in output_paths(out_dir, case, True).values()], inputs)


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output path that is a file, or a folder that can't be written, before any work starts."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output {out_dir} is a file; give a folder for the outputs")
    existing = next((p for p in [out_dir, *out_dir.parents] if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"can't write the output folder {out_dir} (no write permission in {existing}); "
                         f"choose a folder you can write to")


def case_report(case: str, path: Path, ct, result, engine, package: ModelPackage,
                options: SegmentOptions, seconds: float) -> dict:
    volumes = {**measure_label_map_volumes(result.label_map, ct.GetSpacing()), **result.uncertainty}
    assessment = assess(volumes, options.assessment)
    warnings = ([warning(DEMO_MODEL, "demo model trained on synthetic phantoms: NOT FOR CLINICAL USE")]
                if package.is_demo else []) + domain_warnings(package.manifest.get("domain"), ct) + \
        list(result.warnings) + assessment.pop("warnings")
    return {
        "case": case,
        "input": str(path),
        "study": dicom_study(path),
        **assessment,
        "label_values": {str(k): v for k, v in LABEL_VALUES.items()},
        "model": {"id": package.id, "version": package.version, "title": package.manifest["title"],
                  "demo": package.is_demo, "label": package.label(), "license": package.manifest["license"],
                  "domain": package.manifest.get("domain")},
        "strategy": options.strategy,
        "device": engine.devices,
        "fast": options.fast,
        "speed": options.speed.as_dict(),
        "device_fallbacks": engine.fallbacks,
        "stage_seconds": result.stage_seconds,
        "total_seconds": round(seconds, 3),
        "postprocessing": options.rules.as_dict(),
        "crop_margin_mm": options.margin_mm,
        "grid": {"size": list(ct.GetSize()), "spacing": list(ct.GetSpacing()), "origin": list(ct.GetOrigin()),
                 "direction": list(ct.GetDirection())},
        "software": software_versions(),
        "warnings": warnings,
    }


def open_engine(options: SegmentOptions, device, unpack_dir: Path):
    """The model package (every file's sha256 checked) and an engine with its strategy's stages loaded on device;
    unpack_dir must be a private folder of the caller's that outlives the engine."""
    from .engine import SegmentationEngine

    package = resolve_model(options.model, unpack_dir)
    locator = None
    if options.locator:
        locator_dir = unpack_dir / "locator"  # apart from the package's own stages
        locating = resolve_model(options.locator, locator_dir)
        if "liver" not in locating.manifest["stages"]:
            raise ModelError(f"--locator: model '{locating.id}' has no liver stage to locate the liver with; "
                             f"give a model that has one")
        locator = locating.stage("liver", locator_dir)
    engine = SegmentationEngine(package, options.strategy, device, unpack_dir, fast=options.fast,
                                rules=options.rules, margin_mm=options.margin_mm, quiet=options.quiet,
                                speed=options.speed, locator=locator)
    return package, engine


def segment_case(case: str, path: Path, ct, engine, package: ModelPackage, options: SegmentOptions,
                 out_dir: Path, progress, start: float, extra: ExtraWriter | None = None) -> dict:
    """Segment one read CT with an opened engine and write its three files (and extra's) atomically; its report
    (its seconds counted from start, a time.perf_counter() value)."""
    progress("read", 0.0, f"read {path.name}")
    result = engine.segment(ct, progress)
    progress("write", 0.9, "writing outputs")
    report = case_report(case, path, ct, result, engine, package, options, time.perf_counter() - start)
    write_case(out_dir, case, ct, result.label_map, report, options.preview, extra)
    return report


def segment(inputs: list[Path], out_dir: Path, options: SegmentOptions,
            progress: ProgressReporter | None = None, extra_outputs: ExtraOutputs | None = None,
            case_names: list[str] | None = None) -> list[dict]:
    """Segment every input into out_dir; returns the reports. extra_outputs adds files to a case's outputs;
    case_names, one per input, name the outputs instead of the inputs' own names."""
    progress = progress or ProgressReporter("none")
    cases = checked_cases(inputs, case_names)
    check_outputs_apart(out_dir, cases)
    check_output_folder(out_dir)
    device = resolve_device(options.device)
    reports = []
    with tempfile.TemporaryDirectory(prefix="flrseg-model-") as unpack_dir:
        progress("load", 0.0, f"loading model {options.model} on {device}")
        package, engine = open_engine(options, device, Path(unpack_dir))
        created = not out_dir.exists()
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            for report in _segment_cases(cases, out_dir, engine, package, options, progress, extra_outputs):
                reports.append(report)
        finally:
            if created and not any(out_dir.iterdir()):
                out_dir.rmdir()  # a run that wrote nothing leaves no trace
    progress("done", 1.0, f"{len(reports)} case(s) written to {out_dir}")
    return reports


def read_ahead(paths: list[Path]):
    """Yield the CT of each path in order while a reader thread reads the next one; a read error is raised when
    its file's turn comes, so the cases before it are still processed."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flrseg-read") as reader:
        pending = reader.submit(read_ct, paths[0]) if paths else None
        for index in range(len(paths)):
            image = pending.result()
            pending = reader.submit(read_ct, paths[index + 1]) if index + 1 < len(paths) else None
            yield image


def _segment_cases(cases, out_dir, engine, package, options, progress, extra_outputs):
    """Segment and write each case in turn, yielding its report once its files are in place."""
    share = 1.0 / len(cases)
    images = read_ahead([path for _, path in cases])
    try:
        start = time.perf_counter()
        for index, ((case, path), ct) in enumerate(zip(cases, images)):

            def case_progress(stage, fraction, message, index=index, case=case):
                progress(stage, (index + fraction) * share, f"{case}: {message}")

            extra = extra_outputs(case, path, ct) if extra_outputs else None
            report = segment_case(case, path, ct, engine, package, options, out_dir, case_progress, start, extra)
            start = time.perf_counter()
            yield report
    finally:
        images.close()  # a stopped run waits for the file being read ahead, then frees the reader

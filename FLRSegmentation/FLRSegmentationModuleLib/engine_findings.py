"""What the engine found about its own segmentation, kept on the node so the live volumetry can show it.

The engine's report holds the FLR % range of the networks' uncertain voxels and the model's warnings (demo model,
input outside the model's training domain). The model's warnings stay true whatever the user edits; the range
belongs to the engine's segmentation only, so it is shown while the FLR and the functional liver measure exactly
what the engine measured, and dropped after the first edit that changes them.
"""

from __future__ import annotations

import json

FINDINGS_ATTRIBUTE = "FLRSegmentation.EngineFindings"
MODEL_WARNING_CODES = ("demo_model", "out_of_model_domain")
RANGE_KEYS = ("uncertain_below_probability", "uncertain_ml", "flr_ml_range", "flr_percent_range")
MEASURED_KEYS = ("flr_ml", "functional_liver_ml")


def record_engine_findings(node, report: dict) -> None:
    findings = {key: report.get(key) for key in RANGE_KEYS + MEASURED_KEYS}
    findings["warnings"] = [w for w in report.get("warnings", []) if isinstance(w, dict)
                            and w.get("code") in MODEL_WARNING_CODES]
    node.SetAttribute(FINDINGS_ATTRIBUTE, json.dumps(findings))


def with_engine_findings(node, volumes: dict) -> dict:
    """The measured volumes with the engine's model warnings and, while unedited, its uncertainty range."""
    try:
        findings = json.loads(node.GetAttribute(FINDINGS_ATTRIBUTE) or "null")
    except ValueError:
        findings = None
    if not isinstance(findings, dict):
        return volumes
    volumes = {**volumes, "warnings": list(findings.get("warnings", [])) + list(volumes.get("warnings", []))}
    if all(findings.get(key) == volumes.get(key) for key in MEASURED_KEYS) and findings.get("flr_percent_range"):
        volumes.update({key: findings.get(key) for key in RANGE_KEYS})
    return volumes

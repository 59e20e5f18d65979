"""Plans are data, never code: every name a package's plans.json or manifest hands to nnU-Net is allow-listed.

nnU-Net resolves the class names in a plan's architecture with `pydoc.locate` and calls them with the plan's
kwargs, so `"dropout_op": "os.system"` would run a shell command when the network is built, whatever the sha256
says (whoever ships a package writes its manifest). Before any network is built, `check_stage_plans` refuses a
package unless every such name is one of the torch.nn layers or network classes listed here, every kwargs dict
only holds numbers and flags those callables take (inspect.signature), and every other value is plain data.
"""

from __future__ import annotations

import inspect
import math

from dynamic_network_architectures.architectures.unet import PlainConvUNet, ResidualEncoderUNet, ResidualUNet
from nnunetv2.preprocessing.resampling import default_resampling, no_resampling, resample_torch
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager
from torch import nn

from ..errors import ModelError
from .manifest_check import check_trainer

NETWORKS = {f"{cls.__module__}.{cls.__name__}": cls for cls in (PlainConvUNet, ResidualEncoderUNet, ResidualUNet)}
# the fields nnU-Net imports by name, each with the layers it may name; the network fills their first argument
LAYERS = {
    "conv_op": (nn.Conv1d, nn.Conv2d, nn.Conv3d),
    "norm_op": (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.BatchNorm1d, nn.BatchNorm2d,
                nn.BatchNorm3d),
    "dropout_op": (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d),
    "nonlin": (nn.LeakyReLU, nn.ReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU),
}
LAYER_NAMES = {field: {name: cls for cls in layers for name in (f"torch.nn.{cls.__name__}",
                                                                 f"{cls.__module__}.{cls.__name__}")}
               for field, layers in LAYERS.items()}
FILLED_BY_CALLER = {"input_channels", "num_classes", "deep_supervision", "self", "device", "dtype", "block"}
RESAMPLING = {fn.__name__: fn for fn in (default_resampling.resample_data_or_seg_to_shape,
                                         default_resampling.resample_data_or_seg_to_spacing,
                                         no_resampling.no_resampling_hack, resample_torch.resample_torch_fornnunet,
                                         resample_torch.resample_torch_simple)}
RESAMPLING_ARGS_FILLED = {"data", "new_shape", "current_spacing", "new_spacing"}
PREPROCESSORS = {"DefaultPreprocessor"}
NORMALIZATIONS = {"CTNormalization", "ZScoreNormalization", "NoNormalization", "RescaleTo01Normalization",
                  "RGBTo01Normalization"}
LABEL_MANAGERS = {"LabelManager"}
READER_WRITERS = {"SimpleITKIO", "SimpleITKIOWithReorient", "NibabelIO", "NibabelIOWithReorient", "NaturalImage2DIO",
                  "Tiff3DIO"}


def _refuse(where: str, field: str, why: str) -> None:
    raise ModelError(f"{where}: plans field '{field}' {why}; the package is unsafe or damaged, refused before any "
                     f"network was built (get the model from its source again)")


def _named(value, allowed) -> bool:
    """value is one of the allowed names (a JSON value may be a list or dict, which no set can hold)."""
    return isinstance(value, str) and value in allowed


def _is_number(value) -> bool:
    return isinstance(value, bool) or (isinstance(value, (int, float)) and math.isfinite(value))


def _is_plain_data(value) -> bool:
    """Numbers, flags, None and (nested) lists of them: what a network's hyper-parameters are."""
    if value is None or _is_number(value):
        return True
    return isinstance(value, list) and all(_is_plain_data(v) for v in value)


def _parameters(fn) -> set[str]:
    """The names a callable takes as keywords (a **kwargs catch-all is never trusted)."""
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_kwargs(kwargs, fn, where: str, field: str, filled=FILLED_BY_CALLER) -> None:
    """A kwargs dict for `fn`: None or a dict of names `fn` takes, each holding plain data."""
    if kwargs is None:
        return
    if not isinstance(kwargs, dict):
        _refuse(where, field, f"must be a dict or null, not {type(kwargs).__name__}")
    names = _parameters(fn)
    for key, value in kwargs.items():
        if key not in names or key in filled:
            _refuse(where, f"{field}.{key}", f"is not a parameter {getattr(fn, '__name__', fn)} takes")
        if not _is_plain_data(value):
            _refuse(where, f"{field}.{key}", "must hold numbers, flags or lists of them")


def check_architecture(architecture, where: str) -> None:
    """The `architecture` of a configuration: an allow-listed network, allow-listed layers, plain kwargs."""
    if not isinstance(architecture, dict):
        _refuse(where, "architecture", "is missing or not a dict")
    name = architecture.get("network_class_name")
    if not _named(name, NETWORKS):
        _refuse(where, "architecture.network_class_name", f"names '{str(name)[:80]}', which is not one of "
                                                          f"{', '.join(sorted(NETWORKS))}")
    network = NETWORKS[name]
    kwargs = architecture.get("arch_kwargs")
    if not isinstance(kwargs, dict):
        _refuse(where, "architecture.arch_kwargs", "is missing or not a dict")
    imported = architecture.get("_kw_requires_import", [])
    if not isinstance(imported, list) or not all(_named(f, LAYERS) for f in imported):
        _refuse(where, "architecture._kw_requires_import", f"may only list {', '.join(LAYERS)}")
    accepted = _parameters(network)
    for key, value in kwargs.items():
        field = f"architecture.arch_kwargs.{key}"
        if key not in accepted or key in FILLED_BY_CALLER:
            _refuse(where, field, f"is not a parameter {network.__name__} takes")
        if key in LAYERS:
            if value is not None and not _named(value, LAYER_NAMES[key]):
                _refuse(where, field, f"names '{str(value)[:80]}', which is not an allowed torch.nn layer "
                                      f"({', '.join(sorted({c.__name__ for c in LAYERS[key]}))})")
        elif key.endswith("_kwargs") and key[:-len("_kwargs")] in LAYERS:
            named = kwargs.get(key[:-len("_kwargs")])
            layer = LAYER_NAMES[key[:-len("_kwargs")]].get(named) if isinstance(named, str) else None
            if layer is None:  # no layer to take them: nnU-Net ignores them, they may still only be data
                if value is not None and not (isinstance(value, dict) and all(map(_is_plain_data, value.values()))):
                    _refuse(where, field, "must be a dict of numbers and flags, or null")
            else:
                first = next(iter(inspect.signature(layer).parameters))
                check_kwargs(value, layer, where, field, FILLED_BY_CALLER | {first, "num_features"})
        elif not _is_plain_data(value):
            _refuse(where, field, "must hold numbers, flags or lists of them")


def _check_positive_list(values, where: str, field: str, integers: bool) -> None:
    kind = int if integers else (int, float)
    if (not isinstance(values, list) or not values or
            not all(isinstance(v, kind) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in values)):
        _refuse(where, field, f"must be a list of positive {'integers' if integers else 'numbers'}, not "
                              f"{str(values)[:80]}")


def check_configuration(configuration, where: str) -> None:
    """A configuration as nnU-Net resolved it (inheritance applied): every name allow-listed, sizes positive."""
    if not isinstance(configuration, dict):
        _refuse(where, "configuration", "is not a dict")
    check_architecture(configuration.get("architecture"), where)
    _check_positive_list(configuration.get("patch_size"), where, "patch_size", integers=True)
    _check_positive_list(configuration.get("spacing"), where, "spacing", integers=False)
    if len(configuration["patch_size"]) != len(configuration["spacing"]):
        _refuse(where, "spacing", "must have one value per patch_size axis")
    if not _named(configuration.get("preprocessor_name", "DefaultPreprocessor"), PREPROCESSORS):
        _refuse(where, "preprocessor_name", f"must be one of {', '.join(sorted(PREPROCESSORS))}")
    schemes = configuration.get("normalization_schemes", [])
    if not isinstance(schemes, list) or not all(_named(s, NORMALIZATIONS) for s in schemes):
        _refuse(where, "normalization_schemes", f"may only hold {', '.join(sorted(NORMALIZATIONS))}")
    for kind in ("data", "seg", "probabilities"):
        field = f"resampling_fn_{kind}"
        if field not in configuration:
            continue
        if not _named(configuration[field], RESAMPLING):
            _refuse(where, field, f"must be one of {', '.join(sorted(RESAMPLING))}")
        check_kwargs(configuration.get(f"{field}_kwargs"), RESAMPLING[configuration[field]], where,
                     f"{field}_kwargs", RESAMPLING_ARGS_FILLED)


def check_stage_plans(plans, configuration: str, trainer: str, where: str) -> None:
    """A stage's plans.json (already parsed) for its configuration and trainer, before any network is built."""
    check_trainer(trainer, where)
    if not isinstance(plans, dict) or not isinstance(plans.get("configurations"), dict):
        raise ModelError(f"{where}: plans.json has no 'configurations'; not an nnU-Net v2 plans file")
    for field, allowed in (("label_manager", LABEL_MANAGERS), ("image_reader_writer", READER_WRITERS)):
        if not _named(plans.get(field, next(iter(allowed))), allowed):
            _refuse(where, field, f"must be one of {', '.join(sorted(allowed))}")
    if configuration not in plans["configurations"]:
        raise ModelError(f"{where}: plans.json has no configuration '{configuration}'")
    try:
        resolved = PlansManager(plans).get_configuration(configuration).configuration
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ModelError(f"{where}: plans.json configuration '{configuration}' is malformed "
                         f"({type(exc).__name__}: {str(exc)[:80]})") from None
    check_configuration(resolved, where)

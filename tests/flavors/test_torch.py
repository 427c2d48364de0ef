from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shipyard.errors import PickleRefused, UnsupportedModel, ValidationFailed
from shipyard.flavors import TorchFlavor, flavor_for
from shipyard.flavors.pyfunc import PythonFlavor

from .conftest import Dataset, RoundTrip, SaveTo

# TorchScript is deprecated in torch 2.13 but is still what many teams deploy; the warning is torch's.
pytestmark = pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")

FLAVOR = TorchFlavor()


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.linear(x), dim=1)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)


class Embed(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding(10, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        summed: torch.Tensor = self.embedding(ids).sum(dim=1)
        return summed


def _expected(module: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        result: np.ndarray = module(torch.tensor(X, dtype=torch.float32)).numpy()
    return result


def _export(module: torch.nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    return torch.export.export(module, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))


def test_torchscript_round_trip(save_to: SaveTo, iris: Dataset) -> None:
    X, _ = iris
    net = Net().eval()
    folder, saved = save_to(torch.jit.script(net))
    assert (saved.flavor, saved.format, saved.uses_pickle) == ("torch", "torchscript", True)
    assert "+" not in saved.requirements["torch"]
    with pytest.raises(PickleRefused):
        FLAVOR.load(folder, saved)
    loaded = FLAVOR.load(folder, saved, allow_pickle=True)
    assert loaded.device in ("cpu", "cuda")  # type: ignore[attr-defined]
    np.testing.assert_allclose(loaded.predict(X), _expected(net, X.to_numpy()), rtol=1e-5)
    np.testing.assert_allclose(loaded.predict(X.to_numpy()[:2].tolist()), _expected(net, X.to_numpy()[:2]), rtol=1e-5)


def test_a_double_precision_script_gets_float64_inputs(round_trip: RoundTrip, iris: Dataset) -> None:
    X, _ = iris
    saved, loaded = round_trip(torch.jit.script(Net().double().eval()))
    assert saved.details["input_dtypes"] == ["float64"]
    assert loaded.predict(X).dtype == np.float64


def test_exported_program_round_trip_with_a_dynamic_batch(round_trip: RoundTrip, iris: Dataset) -> None:
    X, _ = iris
    net = Net().eval()
    saved, loaded = round_trip(_export(net, torch.randn(2, 4)))
    assert (saved.format, saved.details["input_dtypes"]) == ("torch-export", ["float32"])
    np.testing.assert_allclose(loaded.predict(X.to_numpy()[:7]), _expected(net, X.to_numpy()[:7]), rtol=1e-5)
    assert "float32" in repr(loaded)


def test_exported_program_keeps_integer_inputs(round_trip: RoundTrip) -> None:
    module = Embed().eval()
    saved, loaded = round_trip(_export(module, torch.tensor([[1, 2, 3], [4, 5, 6]])))
    assert saved.details["input_dtypes"] == ["int64"]
    ids = np.array([[0, 1, 2], [7, 8, 9], [3, 3, 3]])
    with torch.no_grad():
        expected = module(torch.as_tensor(ids)).numpy()
    np.testing.assert_allclose(loaded.predict(ids), expected)


def test_a_plain_module_must_be_scripted_or_exported(tmp_path: Path) -> None:
    net = Net()
    assert not FLAVOR.can_save(net)
    assert not PythonFlavor().can_save(net)  # it has predict, but pickling it would dodge the rule
    with pytest.raises(UnsupportedModel, match=r"torch\.jit\.script") as info:
        flavor_for(net)
    assert "torch.export.export" in str(info.value)
    with pytest.raises(UnsupportedModel, match=r"torch\.jit\.script"):
        FLAVOR.save(net, tmp_path)


def test_unknown_format_is_refused(save_to: SaveTo) -> None:
    folder, saved = save_to(torch.jit.script(Net()))
    bogus = type(saved)(saved.flavor, "onnx", True, {}, saved.details)
    with pytest.raises(ValidationFailed, match="unknown torch format"):
        FLAVOR.load(folder, bogus, allow_pickle=True)


def test_read_file_torchscript_and_export(tmp_path: Path) -> None:
    script, program = tmp_path / "model.pt", tmp_path / "model.pt2"
    torch.jit.save(torch.jit.script(Net()), str(script))
    torch.export.save(_export(Net(), torch.randn(2, 4)), str(program))
    assert FLAVOR.can_read_file(script) and FLAVOR.can_read_file(program)
    assert isinstance(FLAVOR.read_file(script), torch.jit.ScriptModule)
    assert isinstance(FLAVOR.read_file(program), torch.export.ExportedProgram)


def test_read_file_refuses_a_state_dict_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(Net().state_dict(), path)
    with pytest.raises(ValidationFailed, match=r"torch\.jit\.script"):
        FLAVOR.read_file(path)


def test_read_file_rejects_a_corrupted_archive(tmp_path: Path) -> None:
    good, bad = tmp_path / "model.pt", tmp_path / "bad.pt"
    torch.jit.save(torch.jit.script(Net()), str(good))
    data = bytearray(good.read_bytes())
    data[100:400] = b"\x00" * 300  # keep the zip directory, break the members
    bad.write_bytes(bytes(data))
    with pytest.raises(ValidationFailed) as info:
        FLAVOR.read_file(bad)
    assert info.value.problems[0][0] == "path"


def test_read_file_rejects_another_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"PK")
    assert not FLAVOR.can_read_file(path)
    with pytest.raises(ValidationFailed):
        FLAVOR.read_file(path)

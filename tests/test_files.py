import pickle

import pytest
import torch
from safetensors.torch import save_file

from robustbench_logits._files import load_state_dict, sha256_file, write_json
from robustbench_logits.errors import WeightsError


def _state():
    return {"weight": torch.arange(6.0).reshape(2, 3), "bias": torch.tensor([1.0, -1.0])}


def test_safetensors_round_trip_and_checksum(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(_state(), str(path))
    loaded = load_state_dict(path, expected_sha256=sha256_file(path))
    assert torch.equal(loaded["weight"], _state()["weight"])
    with pytest.raises(WeightsError, match="sha256"):
        load_state_dict(path, expected_sha256="0" * 64)


def test_truncated_safetensors_is_a_clear_error(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(_state(), str(path))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(WeightsError, match="safetensors"):
        load_state_dict(path)


def test_weights_only_torch_file_loads_but_pickled_code_is_refused(tmp_path):
    good = tmp_path / "w.pt"
    torch.save(_state(), good)
    assert set(load_state_dict(good)) == {"weight", "bias"}

    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    bad = tmp_path / "bad.pt"
    torch.save({"weight": Payload()}, bad)
    with pytest.raises(WeightsError, match="weights-only"):
        load_state_dict(bad)
    pkl = tmp_path / "w.pkl"
    pkl.write_bytes(pickle.dumps(_state()))
    with pytest.raises(WeightsError, match="refusing to load pickle"):
        load_state_dict(pkl)


def test_missing_file(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_state_dict(tmp_path / "nope.safetensors")


def test_write_json_is_atomic(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"x": 1})
    assert path.read_text().strip().startswith("{") and not (tmp_path / "a.json.partial").exists()


def test_write_json_creates_missing_parent_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "result.json"
    write_json(path, {"x": 1})
    assert path.is_file()

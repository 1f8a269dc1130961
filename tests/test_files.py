import hashlib
import json
import os
import pickle
import stat
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from robustbench_logits import _files
from robustbench_logits._files import load_state_dict, load_weights, sha256_file, write_json
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


def test_write_json_leaves_only_the_file_it_wrote(tmp_path):
    path = tmp_path / "a.json"
    write_json(path, {"x": 1})
    assert json.loads(path.read_text()) == {"x": 1} and sorted(os.listdir(tmp_path)) == ["a.json"]  # no temporary left


def test_write_json_creates_missing_parent_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "result.json"
    write_json(path, {"x": 1})
    assert path.is_file()


# --- weight integrity against a hash computed outside the code under test ---------------------

# A safetensors file written byte by byte (8-byte little-endian header length, JSON header padded
# to 8 bytes, float32 data), so its bytes do not depend on any library version. Its sha256 was
# computed once by hand with `sha256sum w.safetensors` and is written here, not recomputed.
HAND_SHA256 = "8987ef204a02748cbaaad65f258dc14a425d99a493f8325c058e196c130f2e1b"


def _hand_written_safetensors(path):
    header = json.dumps(
        {"bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]}},
        separators=(",", ":"),
    ).encode()
    header += b" " * (-len(header) % 8)
    data = struct.pack("<2f", 1.0, -1.0) + struct.pack("<4f", 0.5, 1.5, -2.0, 4.0)
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return path


def _near_miss(sha: str, keep: int) -> str:
    """The same hash with one hex digit changed at position ``keep`` (so it shares ``keep`` digits)."""
    flipped = "0" if sha[keep] != "0" else "1"
    return sha[:keep] + flipped + sha[keep + 1 :]


def test_sha256_file_matches_a_hash_computed_by_hand(tmp_path):
    path = _hand_written_safetensors(tmp_path / "w.safetensors")
    assert sha256_file(path) == HAND_SHA256
    loaded = load_state_dict(path, expected_sha256=HAND_SHA256)
    assert loaded["weight"].tolist() == [[0.5, 1.5], [-2.0, 4.0]] and loaded["bias"].tolist() == [1.0, -1.0]


@pytest.mark.parametrize("keep", [12, 32, 63])
def test_a_wrong_hash_sharing_a_long_prefix_is_refused(tmp_path, keep):
    path = _hand_written_safetensors(tmp_path / "w.safetensors")
    with pytest.raises(WeightsError, match="sha256"):
        load_state_dict(path, expected_sha256=_near_miss(HAND_SHA256, keep))


@pytest.mark.parametrize("keep", [0, 12, 63])
def test_the_pt_path_checks_the_hash_too(tmp_path, keep):
    path = tmp_path / "w.pt"
    torch.save(_state(), path)
    true_sha = hashlib.sha256(path.read_bytes()).hexdigest()  # hashlib, not the function under test
    assert set(load_state_dict(path, expected_sha256=true_sha)) == {"weight", "bias"}
    with pytest.raises(WeightsError, match="sha256"):
        load_state_dict(path, expected_sha256=_near_miss(true_sha, keep))


def test_sha256_file_reads_files_larger_than_one_block(tmp_path):
    path = tmp_path / "big.bin"
    payload = bytes(range(256)) * ((3 << 20) // 256) + b"tail"  # 3 MiB + 4 bytes: 4 blocks
    path.write_bytes(payload)
    assert sha256_file(path) == hashlib.sha256(payload).hexdigest()
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert sha256_file(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256("")


def test_a_corrupted_byte_changes_the_hash_and_is_refused(tmp_path):
    path = _hand_written_safetensors(tmp_path / "w.safetensors")
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01  # one bit of the last float
    path.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="corrupted"):
        load_state_dict(path, expected_sha256=HAND_SHA256)


def test_load_weights_is_strict_and_fills_the_model(tmp_path):
    path = _hand_written_safetensors(tmp_path / "w.safetensors")
    model = torch.nn.Linear(2, 2)
    assert load_weights(model, path, expected_sha256=HAND_SHA256) is model
    assert model.weight.tolist() == [[0.5, 1.5], [-2.0, 4.0]] and model.bias.tolist() == [1.0, -1.0]
    with pytest.raises(WeightsError, match="does not fit Linear"):
        load_weights(torch.nn.Linear(3, 2), path)
    with pytest.raises(WeightsError, match="sha256"):
        load_weights(torch.nn.Linear(2, 2), path, expected_sha256=_near_miss(HAND_SHA256, 63))


def test_a_pt_file_of_non_tensors_is_refused(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"weight": torch.ones(2), "step": 3}, path)
    with pytest.raises(WeightsError, match="state dict of tensors"):
        load_state_dict(path)
    torch.save([torch.ones(2)], path)
    with pytest.raises(WeightsError, match="state dict of tensors"):
        load_state_dict(path)


def test_a_long_mismatch_is_cut_to_one_readable_line(tmp_path):
    many = {f"layer{i}.weight": torch.zeros(1) for i in range(60)}  # 60 unexpected keys
    path = tmp_path / "many.safetensors"
    save_file(many, str(path))
    with pytest.raises(WeightsError) as error:
        load_weights(torch.nn.Linear(2, 2), path)
    message = str(error.value)
    assert "\n" not in message and message.endswith("...") and "layer0.weight" in message
    assert len(message) < 600


def test_write_json_is_indented_readable_and_stringifies_paths(tmp_path):
    path = tmp_path / "r.json"
    write_json(path, {"b": 1, "a": tmp_path / "x"})
    text = path.read_text()
    assert text == '{\n  "b": 1,\n  "a": "' + str(tmp_path / "x") + '"\n}\n'  # insertion order, indent 2, Path as str
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_package_versions_name_what_is_missing(monkeypatch):
    monkeypatch.setattr(_files, "VERSIONED_PACKAGES", ("torch", "no-such-package-h4"))
    versions = _files.package_versions()
    assert versions["no-such-package-h4"] == "not installed" and versions["torch"] == torch.__version__.split("+")[0]
    assert set(versions) == {"python", "torch", "no-such-package-h4"}


# --- error messages a user acts on, and the loader's guarantees ------------------------------


def test_a_hash_mismatch_names_the_file_both_12_digit_prefixes_and_what_to_do(tmp_path):
    path = _hand_written_safetensors(tmp_path / "w.safetensors")
    expected = "abcdef0123456789" * 4  # not the file's hash; its first 12 digits: abcdef012345
    with pytest.raises(WeightsError) as error:
        load_state_dict(path, expected_sha256=expected)
    # HAND_SHA256[:12] = 8987ef204a02, written out; the prefixes end where the "..." starts.
    assert str(error.value) == (
        f"{path} has sha256 8987ef204a02..., expected abcdef012345...: the file is corrupted"
        " or not these weights; restore it (reinstall the package or re-download)"
    )


def test_an_unreadable_safetensors_file_says_so_and_what_to_do(tmp_path):
    # torch.load also reads .safetensors files (torch >= 2.x), so only the message shows that
    # the safetensors reader, not torch.load, handled the file.
    path = _hand_written_safetensors(tmp_path / "w.safetensors")
    path.write_bytes(path.read_bytes()[:-4])  # the last float cut in half
    with pytest.raises(WeightsError) as error:
        load_state_dict(path)
    message = str(error.value)
    assert message.startswith(f"{path} is not a readable safetensors file (") and message.endswith("); re-export it")


def test_pickled_code_is_refused_with_the_error_type_and_what_to_do(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    path = tmp_path / "bad.pt"
    torch.save({"weight": Payload()}, path)
    with pytest.raises(WeightsError) as error:
        load_state_dict(path)
    assert str(error.value) == (
        f"cannot read {path} as weights-only (UnpicklingError): it may hold pickled code;"
        " save model.state_dict() as .safetensors"
    )


def test_pickled_code_never_runs_even_when_the_environment_allows_full_unpickling(tmp_path, monkeypatch):
    # TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 turns torch.load's default into weights_only=False;
    # only an explicit weights_only=True keeps the refusal (and the module docstring's promise).
    marker = tmp_path / "created-by-unpickling"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "bad.pt"
    torch.save({"weight": Payload()}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(WeightsError, match="as weights-only"):
        load_state_dict(path)
    assert not marker.exists()


def test_weights_saved_from_a_gpu_load_onto_the_cpu(tmp_path, monkeypatch):
    # A checkpoint written on a GPU tags its storages "cuda:0". Written here without a GPU by
    # making torch.save tag every storage so; loading must map them to the CPU.
    path = tmp_path / "gpu.pt"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        torch.save({"weight": torch.tensor([0.5, -2.0])}, path)
    loaded = load_state_dict(path)
    assert loaded["weight"].device == torch.device("cpu") and loaded["weight"].tolist() == [0.5, -2.0]


def test_state_dict_mismatch_drops_the_header_line_and_joins_the_rest():
    error = RuntimeError(
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "weight", "bias". '
        '\n\tUnexpected key(s) in state_dict: "w". '
    )  # torch's wording, three lines
    assert _files.state_dict_mismatch(error) == (
        'Missing key(s) in state_dict: "weight", "bias". Unexpected key(s) in state_dict: "w".'
    )
    assert _files.state_dict_mismatch(RuntimeError("  a single line  ")) == "a single line"


def test_state_dict_mismatch_keeps_400_characters_and_cuts_longer_text_to_400():
    assert _files.state_dict_mismatch(RuntimeError("header\n" + "k" * 400)) == "k" * 400
    cut = _files.state_dict_mismatch(RuntimeError("header\n" + "k" * 401))
    assert cut == "k" * 397 + "..." and len(cut) == 400


def test_sha256_file_reads_at_most_one_mib_at_a_time(tmp_path, monkeypatch):
    # Weights files run to gigabytes: the hash must stream them in 1 MiB blocks, never hold the file.
    path = tmp_path / "big.bin"
    payload = bytes(range(256)) * ((5 << 19) // 256)  # 2.5 MiB: three reads of data, then the empty one
    path.write_bytes(payload)
    sizes = []
    real_open = Path.open

    class Recording:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def read(self, size=-1):
            sizes.append(size)
            return self.handle.read(size)

    monkeypatch.setattr(Path, "open", lambda self, *args, **kwargs: Recording(real_open(self, *args, **kwargs)))
    assert sha256_file(path) == hashlib.sha256(payload).hexdigest()
    assert sizes == [1 << 20] * 4


def test_write_text_stages_a_hidden_partial_file_beside_the_target(tmp_path, monkeypatch):
    # The temporary is in the target's directory (the same file system, so the rename is atomic and
    # never fails with EXDEV when /tmp is another mount), hidden, named after the target and marked
    # .partial: a leftover after a hard kill is recognisable and never matches the target's pattern.
    moves = []
    real_replace = os.replace

    def spy(source, target):
        moves.append((Path(source), Path(target)))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    path = tmp_path / "out" / "r.json"
    write_json(path, {"x": 1})
    [(source, target)] = moves
    assert target == path and source.parent == path.parent
    assert source.name.startswith(".r.json.") and source.name.endswith(".partial")
    assert len(source.name) > len(".r.json..partial")  # a unique part from mkstemp in between
    assert json.loads(path.read_text()) == {"x": 1}


def test_a_failed_write_removes_its_temporary_and_raises_the_original_error(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # the rename of a file onto a directory fails (EISDIR)
    with pytest.raises(IsADirectoryError):
        _files.write_text(target, "text")
    assert list(tmp_path.iterdir()) == [target] and list(target.iterdir()) == []


class _Interrupted(BaseException):
    """Stands for a KeyboardInterrupt / SystemExit (pytest treats the real ones specially)."""


def test_an_interrupt_right_after_the_rename_surfaces_as_itself(tmp_path, monkeypatch):
    # An interrupt arriving once the rename is done: the temporary is already gone (it is the file),
    # so the cleanup has nothing to remove and the interrupt propagates, not a FileNotFoundError.
    real_replace = os.replace

    def replace_then_interrupt(source, target):
        real_replace(source, target)
        raise _Interrupted

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    path = tmp_path / "r.txt"
    with pytest.raises(_Interrupted):
        _files.write_text(path, "whole\n")
    assert path.read_text() == "whole\n" and [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_write_text_writes_utf8_whatever_the_platforms_default_encoding(tmp_path, monkeypatch):
    # Cards and notes carry non-ASCII text (eps, arrows); on a platform whose default text encoding is
    # not UTF-8 (Windows: cp1252; a C locale: ASCII) they must still be written as UTF-8. Simulated:
    # a text stream opened without an encoding (or with encoding=None) gets latin-1.
    real_fdopen = os.fdopen

    def fdopen(fd, *args, encoding=None, **kwargs):
        return real_fdopen(fd, *args, encoding=encoding or "latin-1", **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    path = tmp_path / "card.md"
    text = "eps = 8/255 \u03b5, 0.5 \u2192 0.6\n"
    _files.write_text(path, text)
    assert path.read_bytes() == text.encode("utf-8")

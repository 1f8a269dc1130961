"""The torchrun helpers: shared_out hands every index to exactly one rank."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from robustbench_logits._distributed import shared_out

WORKER = """
import json, sys, time
import torch.distributed as dist
from robustbench_logits._distributed import all_gather_json, rank_and_world, shared_out
rank, world = rank_and_world()
taken = []
for queue in range(2):  # two queues in a row: the second must not see the first's counter
    mine = []
    for index in shared_out(12, rank, world):
        mine.append(index)
        time.sleep(0.05 if rank == 0 else 0.0)  # rank 0 is slow: rank 1 should take more
    taken.append(all_gather_json(mine, world))
if rank == 0:
    print(json.dumps(taken))
dist.destroy_process_group()
"""


def test_alone_every_index_in_order() -> None:
    assert list(shared_out(5, 0, 1)) == [0, 1, 2, 3, 4]


def test_under_torchrun_each_index_goes_to_one_rank_and_the_faster_rank_takes_more(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node=2", "worker.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env={"OMP_NUM_THREADS": "1", "PATH": str(Path(sys.executable).parent)})
    assert done.returncode == 0, done.stderr[-2000:]
    for slow, fast in json.loads(done.stdout.strip().splitlines()[-1]):
        assert sorted(slow + fast) == list(range(12))
        assert len(fast) > len(slow)

"""Recipes: the papers' settings are recorded, the CPU preset shrinks them, and every recipe trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from robustbench_logits.cli import app
from robustbench_logits.recipes import RecipeError, get_recipe, list_recipes
from robustbench_logits.train import train

ISSUE_METHODS = {
    "standard", "label-smoothing", "logit-squeezing", "blf", "l-blf", "tanh", "lcat",
    "lcat-ce-noi", "lcat-ce-noi-tanh", "lcat-laa-adv-tanh", "lcat-ice", "lcat-ice-noi", "lcat-ice-noi-tanh",
    "pc-lc", "alp", "lrm", "pgd-at", "trades", "mart", "blf-at", "at-ours", "trades-ours", "mart-ours", "lma-at",
}  # fmt: skip


def test_every_method_of_the_issue_has_a_recipe_with_a_paper() -> None:
    names = {recipe.name for recipe in list_recipes()}
    assert ISSUE_METHODS <= names
    for recipe in list_recipes():
        assert recipe.paper and recipe.checkpoint and recipe.setups
        assert all(setup.source for setup in recipe.setups)


def test_lma_at_records_section_5_1() -> None:
    setup = get_recipe("lma-at").setup("cifar10", "resnet18_cifar")
    assert (setup.optimizer, setup.lr, setup.momentum, setup.weight_decay) == ("sgd", 0.01, 0.9, 3.5e-3)
    assert (setup.epochs, setup.batch_size, setup.lr_milestones) == (130, 100, (75, 90))
    assert setup.attack is not None
    assert (setup.attack.eps, setup.attack.step_size, setup.attack.steps) == (8 / 255, 2 / 255, 10)
    assert (setup.attack.loss, setup.attack.start) == ("ce_margin", "normal")  # Alg. 1
    hp = setup.hyperparameters
    assert (hp["base"], hp["margin"], hp["mhuber_weight"], hp["mhuber_alpha"], hp["tau"]) == ("bce", 0.9, 86.0, 5.345, 0.2)
    assert get_recipe("lma-at").setup("cifar100", "resnet18_cifar").hyperparameters["mhuber_weight"] == 96.0
    assert get_recipe("lma-at").setup("cifar10", "wide_resnet34_10").hyperparameters["mhuber_alpha"] == 2.345


def test_kanai_2c2f_and_4c3f_settings_keep_the_best_clean_epoch() -> None:
    small = get_recipe("blf").setup("mnist", "cnn2c2f")
    assert (small.lr, small.momentum, small.weight_decay, small.batch_size, small.epochs) == (0.01, 0.5, 0.01, 64, 100)
    assert small.selection == "best_clean"
    larger = get_recipe("blf").setup("mnist", "cnn4c3f")
    assert (larger.weight_decay, larger.lr_milestones) == (0.0, (55, 75, 90))
    attack = get_recipe("blf-at").setup("mnist", "cnn2c2f").attack
    assert attack is not None and (attack.eps, attack.step_size, attack.steps) == (0.3, 0.01, 40)
    assert get_recipe("l-blf").head_kwargs["gamma_tilde_init"] == -1.0


def test_lcat_and_pc_lc_settings() -> None:
    lcat = get_recipe("lcat")
    assert lcat.head == "scaled_tanh" and lcat.head_kwargs["s"] == 100.0
    assert lcat.setup("mnist", "resnet18_cifar").noise == 0.8
    assert lcat.setup("cifar10", "resnet18_cifar").noise == pytest.approx(20 / 255)
    assert lcat.setup("cifar10", "resnet18_cifar").hyperparameters["weight"] == 15.0
    adv = get_recipe("lcat-laa-adv-tanh").setup("cifar10", "resnet18_cifar")
    assert adv.noise is None and adv.attack is not None and (adv.attack.steps, adv.attack.eps) == (5, 8 / 255)
    mnist_adv = get_recipe("lcat-laa-adv-tanh").setup("mnist", "resnet18_cifar").attack
    assert mnist_adv is not None  # Table 1 pairs MNIST 0.2 with CIFAR 8/255; LCAT never uses 0.3
    assert (mnist_adv.eps, mnist_adv.steps, mnist_adv.step_size) == (0.2, 5, pytest.approx(2.5 * 0.2 / 5))
    pc = get_recipe("pc-lc").setup("mnist", "lenet5")
    assert (pc.optimizer, pc.lr, pc.batch_size, pc.epochs) == ("adam", 0.01, 256, 100)
    assert (pc.hyperparameters["ce_warmup_epochs"], pc.hyperparameters["margin"], pc.hyperparameters["weight"]) == (50, 0.995, 0.05)


def test_baselines_attack_as_their_own_code_does() -> None:
    # MART (YisenWang/MART, mart.py) and TRADES start PGD at x + 0.001 N(0, I) and ascend CE / KL.
    for dataset, arch in (("cifar10", "resnet18_cifar"), ("cifar100", "resnet18_cifar"), ("mnist", "cnn2c2f")):
        mart = get_recipe("mart").setup(dataset, arch).attack
        assert mart is not None and (mart.loss, mart.start) == ("ce", "normal")
    cifar_mart = get_recipe("mart").setup("cifar10", "wide_resnet34_10").attack
    assert cifar_mart is not None and (cifar_mart.eps, cifar_mart.step_size, cifar_mart.steps) == (8 / 255, 2 / 255, 10)
    trades = get_recipe("trades").setup("cifar10", "resnet18_cifar").attack
    assert trades is not None and (trades.loss, trades.start, trades.steps) == ("trades_kl", "normal", 10)
    madry = get_recipe("pgd-at").setup("cifar10", "resnet18_cifar").attack
    assert madry is not None and (madry.loss, madry.start, madry.steps) == ("ce", "uniform", 7)  # Kanai sec. 5.1
    summers = get_recipe("lrm").setup("cifar10", "resnet18_cifar")
    assert (summers.weight_decay, summers.warmup_epochs, summers.epochs, summers.lr_milestones) == (2e-4, 5, 101, (100, 150))


def test_augmentation_per_paper_with_stated_or_assumed_in_the_notes() -> None:
    def augmentation_note(recipe: str, dataset: str, arch: str) -> str:
        setup = get_recipe(recipe).setup(dataset, arch)
        assert setup.augmentation == "crop_flip"
        (note,) = [n for n in setup.notes if n.startswith("augmentation")]
        return note

    # Summers sec. 5.1 states random crops and horizontal flips on CIFAR-10/100.
    for recipe in ("alp", "lrm"):
        for dataset in ("cifar10", "cifar100"):
            assert "(stated, sec. 5.1)" in augmentation_note(recipe, dataset, "resnet18_cifar")
    # Kanai and LMA-AT state none: taken from the code they build on (pytorch-cifar/TRADES, TRADES/MART).
    for recipe in ("blf", "pgd-at", "trades", "blf-at", "label-smoothing"):
        for arch in ("resnet18_cifar", "wide_resnet34_10"):
            assert "not stated" in augmentation_note(recipe, "cifar10", arch)
    for recipe in ("lma-at", "mart", "trades-ours"):
        assert "not stated" in augmentation_note(recipe, "cifar100", "resnet18_cifar")
    assert "MART" in augmentation_note("lma-at", "cifar10", "wide_resnet34_10")
    # LCAT states augmentation only for Tiny-ImageNet: crop_flip on CIFAR-10 is our choice.
    assert "our choice" in augmentation_note("lcat", "cifar10", "resnet18_cifar")
    # PC-LC states scaling to [0, 1] only: no augmentation, and the note says so.
    pc = get_recipe("pc-lc").setup("cifar10", "vgg13_cifar")
    assert pc.augmentation is None and any(n.startswith("augmentation not stated") for n in pc.notes)
    # No paper states augmentation on MNIST / Fashion-MNIST; every CIFAR setting says what it took.
    for recipe in list_recipes():
        for setup in recipe.setups:
            if setup.dataset in ("mnist", "fashion_mnist"):
                assert setup.augmentation is None
            else:
                assert any(note.startswith("augmentation") for note in setup.notes), (recipe.name, setup.arch)
    # The CPU preset shrinks compute, not the data pipeline.
    assert get_recipe("lrm").setup("cifar10", "resnet18_cifar", preset="cpu").augmentation == "crop_flip"


def test_cpu_preset_shrinks_compute_not_the_method() -> None:
    paper = get_recipe("pgd-at").setup("mnist", "cnn2c2f")
    cpu = get_recipe("pgd-at").setup("mnist", "cnn2c2f", preset="cpu")
    assert cpu.epochs == 1 and cpu.lr_milestones == () and cpu.budget
    assert cpu.attack is not None and cpu.attack.steps == 10
    assert cpu.attack.step_size == pytest.approx(2.5 * 0.3 / 10) and cpu.attack.eps == paper.attack.eps
    assert cpu.attack.eps_warmup_epochs == 0.5 and paper.attack.eps_warmup_epochs == 0
    assert cpu.lr == pytest.approx(0.2 * (1 - 0.5)) and cpu.weight_decay == 0.0
    assert cpu.hyperparameters == paper.hyperparameters
    pc = get_recipe("pc-lc").setup("mnist", "lenet5", preset="cpu")
    assert (pc.epochs, pc.hyperparameters["ce_warmup_epochs"], pc.lr) == (2, 1, 0.01)  # Adam keeps its lr


def test_fallbacks_are_noted_and_missing_settings_refused() -> None:
    setup = get_recipe("lcat").setup("mnist", "cnn2c2f")
    assert setup.arch == "cnn2c2f" and any("no paper setting" in note for note in setup.notes)
    assert get_recipe("pc-lc").setup("fashion_mnist", "lenet5").hyperparameters["ce_warmup_epochs"] == 50
    with pytest.raises(RecipeError, match="train --list"):
        get_recipe("madry")
    with pytest.raises(RecipeError, match="only preset"):
        get_recipe("standard").setup("mnist", "cnn2c2f", preset="gpu")
    with pytest.raises(RecipeError, match="no setting"):
        get_recipe("lcat").setup("tiny_imagenet", "resnet18_cifar")


def test_fallback_prefers_the_architecture_on_the_sibling_dataset_then_the_dataset() -> None:
    # standard has mnist/cnn2c2f (Kanai) and fashion_mnist/lenet5 (PC-LC): a Fashion-MNIST 2C2F baseline
    # trains as Kanai's 2C2F heads do, not with PC-LC's LeNet-5 optimiser
    standard = get_recipe("standard")
    fmnist_2c2f = standard.setup("fashion_mnist", "cnn2c2f")
    assert (fmnist_2c2f.optimizer, fmnist_2c2f.momentum, fmnist_2c2f.batch_size) == ("sgd", 0.5, 64)
    assert "using the mnist/cnn2c2f one" in fmnist_2c2f.notes[-1]
    # no 2C2F setting on either dataset: the same dataset's other architecture
    assert "using the fashion_mnist/lenet5 one" in standard.setup("fashion_mnist", "resnet18_cifar").notes[-1]
    # an exact match wins over everything, and carries no fallback note
    exact = standard.setup("fashion_mnist", "lenet5")
    assert exact.optimizer == "adam" and not any("no paper setting" in note for note in exact.notes)
    # CIFAR-100 WRN: LMA-AT's CIFAR-10 WRN setting before its CIFAR-100 ResNet-18 one
    assert "using the cifar10/wide_resnet34_10 one" in get_recipe("pgd-at").setup("cifar100", "wide_resnet34_10").notes[-1]


def test_cli_lists_every_recipe_with_its_paper() -> None:
    result = CliRunner().invoke(app, ["train", "--list"])
    assert result.exit_code == 0
    for recipe in list_recipes():
        assert recipe.name in result.output and recipe.paper in result.output


@pytest.fixture(scope="module")
def tiny_mnist(mnist_small: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    x_train, y_train, _, _ = mnist_small
    return x_train[:48], y_train[:48]


@pytest.mark.parametrize("name", sorted(ISSUE_METHODS | {r.name for r in list_recipes()}))
def test_each_recipe_trains_and_its_objective_goes_down(name: str, tiny_mnist: tuple[torch.Tensor, torch.Tensor], tmp_path: Path) -> None:
    x, y = tiny_mnist
    result = train(
        name, "mnist", "cnn2c2f", tmp_path, preset="cpu", epochs=4, batch_size=16, seed=1,
        train_data=(x, y), eval_data=(x[:16], y[:16]), progress=False, threads=1,
    )  # fmt: skip
    losses = [record["train_loss"] for record in result.history]
    assert result.finished and all(torch.isfinite(torch.tensor(losses)))
    # PC-LC changes loss at its warm-up boundary (epochs // 2): compare within the last phase.
    first = 2 if name in ("pc-lc", "pc") else 0
    if result.metadata["setup"]["attack"]:
        # The CPU preset warms the inner attack's eps up during epoch 1, so epoch 1's loss comes
        # from weaker examples and can sit below epoch 2's: start from the higher of the two.
        assert losses[-1] < max(losses[0], losses[1]), losses
    else:
        assert losses[-1] < losses[first], losses
    assert (tmp_path / "model.safetensors").is_file()


def test_inner_max_eps_warmup_ramps_eps_and_step_linearly():
    from robustbench_logits.recipes import InnerMax

    attack = InnerMax(eps=0.3, step_size=0.075, steps=10, eps_warmup_epochs=2)
    quarter = attack.at_progress(0.5)
    assert quarter.eps == pytest.approx(0.075) and quarter.step_size == pytest.approx(0.01875)
    assert attack.at_progress(0.0).eps == 0.0
    assert attack.at_progress(2.0) is attack and attack.at_progress(5.0) is attack
    plain = InnerMax(eps=0.3, step_size=0.01, steps=40)
    assert plain.at_progress(0.0) is plain


def test_fast_at_is_wongs_fgsm_with_random_start_and_its_guard() -> None:
    setup = get_recipe("fast-at").setup("mnist", "cnn4c3f")
    attack = setup.attack
    assert attack is not None and (attack.steps, attack.start, attack.loss) == (1, "uniform", "ce")
    assert attack.eps == 0.3 and attack.step_size == pytest.approx(1.25 * 0.3)  # alpha = 1.25 eps
    assert (setup.optimizer, setup.lr, setup.lr_schedule, setup.epochs, setup.batch_size) == ("adam", 5e-3, "cyclic", 10, 100)
    assert setup.selection == "best_robust" and setup.overfit_guard == 0.2
    fashion = get_recipe("fast-at").setup("fashion_mnist", "cnn2c2f").attack
    assert fashion is not None and fashion.eps == 0.1 and fashion.step_size == pytest.approx(0.125)


def test_cheaper_pgd_records_its_departure_from_the_paper() -> None:
    from robustbench_logits.recipes import cheaper_pgd

    paper = get_recipe("pgd-at").setup("mnist", "cnn4c3f")
    cheap = cheaper_pgd(paper, steps=5, warmup_epochs=2)
    assert cheap.attack is not None and paper.attack is not None
    assert (cheap.attack.steps, cheap.attack.eps_warmup_epochs) == (5, 2)
    assert cheap.attack.step_size == pytest.approx(2.5 * 0.3 / 5) and cheap.attack.eps == paper.attack.eps
    assert any("cheaper inner PGD: 5 steps" in note and "paper: 40" in note for note in cheap.notes)
    assert "cheaper inner PGD" in cheap.budget
    with pytest.raises(RecipeError, match="no inner attack"):
        cheaper_pgd(get_recipe("standard").setup("mnist", "cnn2c2f"), steps=5, warmup_epochs=1)


def test_pc_without_lc_is_pc_lc_with_the_constraint_weight_at_zero() -> None:
    pc, pc_lc = get_recipe("pc").setup("mnist", "lenet5"), get_recipe("pc-lc").setup("mnist", "lenet5")
    assert pc.hyperparameters["weight"] == 0.0 and pc_lc.hyperparameters["weight"] == 0.05
    assert pc.hyperparameters["ce_warmup_epochs"] == pc_lc.hyperparameters["ce_warmup_epochs"] == 50


def test_every_recipe_credits_a_paper_of_the_papers_table() -> None:
    from robustbench_logits.recipes import credit

    for recipe in list_recipes():
        paper, baseline = credit(recipe.name)
        assert paper.key and isinstance(baseline, bool)
    assert credit("pgd-at")[0].key == "madry2018" and credit("trades")[0].key == "zhang2019"
    assert credit("mart")[0].key == "wang2020" and credit("fast-at")[0].key == "wong2020"
    assert credit("standard") == (credit("blf")[0], True)  # a baseline names the protocol's paper
    with pytest.raises(RecipeError.__mro__[1], match="credit table"):
        credit("no-such-recipe")

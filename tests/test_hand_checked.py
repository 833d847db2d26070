"""Hand-checked answer keys for the shipped problems, exercised end to end through the CLI.

Every expected number below was worked out independently of derive: step by step with
plain Python ``math`` (no NumPy, no derive code) in a scratch script, following the pen-and-paper
recipe of the course, and pasted here as a literal. The comment next to each literal shows how
it is obtained. Values are full precision; they are compared with ``rel=1e-9``.

Conventions (see the problem-file format): z^l = W^l a^(l-1) + b^l, rows of W = neurons of
layer l, columns = neurons of layer l-1; a batch's loss is the mean over its examples;
grad_W = mean of per-example delta^l (a^(l-1))^T + (lambda/m) W; grad_b = mean of delta^l;
W <- W - eta * grad_W. In the JSON key, ``z``, ``a`` and ``delta`` have one row per example
of the step's batch, ``W`` and ``b`` are the values after the update.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBLEMS = REPO / "problems"

REL = 1e-9


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solve(tmp_path_factory):
    """name -> answer key (dict); runs ``python -m derive solve`` once per problem."""
    cache: dict[str, dict] = {}

    def run(name: str) -> dict:
        if name not in cache:
            out = tmp_path_factory.mktemp(name.replace(".", "_")) / "key.json"
            subprocess.run(
                [sys.executable, "-m", "derive", "solve", str(PROBLEMS / name), "--json", str(out)],
                check=True,
                cwd=REPO,
            )
            cache[name] = json.loads(out.read_text(encoding="utf-8"))
        return cache[name]

    return run


def assert_close(actual, expected, what="value"):
    """Compare (nested lists of) numbers with pytest.approx(rel=1e-9), checking shapes too."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{what}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{what}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, f"{what}[{i}]")
    else:
        assert actual == pytest.approx(expected, rel=REL), f"{what}: {actual!r} != {expected!r}"


def scale(nested, factor):
    if isinstance(nested, (list, tuple)):
        return [scale(v, factor) for v in nested]
    return nested * factor


def layer(key, step, number):
    """The entry of ``key['steps'][step]['layers']`` whose ``layer`` is ``number`` (1 = first hidden)."""
    layers = key["steps"][step]["layers"]
    found = [entry for entry in layers if entry["layer"] == number]
    assert len(found) == 1, f"layer {number} not found exactly once in step {step}"
    return found[0]


# --------------------------------------------------------------------------------------------
# 2-2-1 network, one example, one SGD step (tutorial problem 2)
#
# Shared data of sgd-{sigmoid,tanh,relu}-hidden.yaml and sgd-keras-mse.yaml:
#   x = (0.5, 0.9), y = 1, eta = 0.5
#   W1 = [[0.2, -0.1], [0.4, 0.3]], b1 = [0.1, -0.1], W2 = [[0.5, -0.6]], b2 = [0.2]
# Hidden pre-activations, the same for every hidden activation:
#   z1_1 = 0.2*0.5 + (-0.1)*0.9 + 0.1  = 0.10 - 0.09 + 0.1 = 0.11
#   z1_2 = 0.4*0.5 +   0.3*0.9 - 0.1   = 0.20 + 0.27 - 0.1 = 0.37
# Backward pass (output sigmoid, L = 1/2 (y - a)^2):
#   delta2 = (a2 - y) * a2 (1 - a2)
#   delta1_j = W2_j * delta2 * f'(z1_j)
#   grad_W2 = delta2 * a1,  grad_b2 = delta2,  grad_W1 = delta1 x^T,  grad_b1 = delta1
# --------------------------------------------------------------------------------------------

X = [0.5, 0.9]
Z1 = [0.11, 0.37]

EXPECTED_221 = {
    "sgd-sigmoid-hidden.yaml": {
        # a1 = sigmoid(z1) = (sigmoid(0.11), sigmoid(0.37)) = (0.527472..., 0.591458...)
        "a1": [0.5274723043445937, 0.5914589784327801],
        # z2 = 0.5*0.527472 - 0.6*0.591458 + 0.2 = 0.108860...
        "z2": 0.10886076511262882,
        # a2 = sigmoid(0.108860...) = 0.527188...
        "a2": 0.5271883465782257,
        # L = 1/2 (1 - 0.527188)^2 = 0.111775...
        "loss": 0.11177542980571603,
        # delta2 = (0.527188 - 1) * 0.527188 * (1 - 0.527188) = -0.472811 * 0.249263 = -0.117853...
        "delta2": -0.11785340805469191,
        # sigmoid'(z1) = a1 (1 - a1) = (0.249245..., 0.241635...)
        # delta1 = (0.5 * -0.117853 * 0.249245, -0.6 * -0.117853 * 0.241635) = (-0.014687..., 0.017086...)
        "delta1": [-0.014687202402469013, 0.01708652300341898],
        # grad_W2 = delta2 * a1 = (-0.117853*0.527472, -0.117853*0.591458)
        "grad_W2": [-0.06216440872147204, -0.06970545633284965],
        # grad_W1 = delta1 x^T = [[-0.014687*0.5, -0.014687*0.9], [0.017086*0.5, 0.017086*0.9]]
        "grad_W1": [
            [-0.0073436012012345064, -0.013218482162222113],
            [0.00854326150170949, 0.015377870703077083],
        ],
        # W2' = W2 - 0.5 grad_W2 = (0.5 + 0.031082, -0.6 + 0.034852)
        "W2": [0.531082204360736, -0.5651472718335752],
        # b2' = 0.2 - 0.5 * -0.117853 = 0.258926...
        "b2": 0.25892670402734597,
        # W1' = W1 - 0.5 grad_W1
        "W1": [[0.20367180060061726, -0.09339075891888896], [0.3957283692491453, 0.29231106464846146]],
        # b1' = b1 - 0.5 delta1 = (0.1 + 0.007343, -0.1 - 0.008543)
        "b1": [0.10734360120123451, -0.1085432615017095],
        # forward again with the new weights: a2' = 0.552111..., L' = 1/2 (1 - 0.552111)^2
        "loss_after": 0.10030211363546926,
    },
    "sgd-tanh-hidden.yaml": {
        # a1 = (tanh(0.11), tanh(0.37)) = (0.109558..., 0.353991...)
        "a1": [0.10955847021442953, 0.35399171247704597],
        # z2 = 0.5*0.109558 - 0.6*0.353991 + 0.2 = 0.042384...
        "z2": 0.04238420762098721,
        # a2 = sigmoid(0.042384...) = 0.510594...
        "a2": 0.5105944659425894,
        # L = 1/2 (1 - 0.510594)^2 = 0.119758...
        "loss": 0.11975888838300965,
        # delta2 = (0.510594 - 1) * 0.510594 * 0.489405 = -0.122296...
        "delta2": -0.12229645131160197,
        # tanh'(z1) = 1 - a1^2 = (0.987996..., 0.874689...)
        # delta1 = (0.5 * -0.122296 * 0.987996, -0.6 * -0.122296 * 0.874689) = (-0.060414..., 0.064182...)
        "delta1": [-0.06041425993245937, 0.06418288007590077],
        # grad_W2 = delta2 * a1 = (-0.122296*0.109558, -0.122296*0.353991)
        "grad_W2": [-0.013398612118352577, -0.04329193022965966],
        # grad_W1 = delta1 x^T
        "grad_W1": [
            [-0.030207129966229686, -0.05437283393921344],
            [0.032091440037950385, 0.057764592068310694],
        ],
        # W2' = W2 - 0.5 grad_W2
        "W2": [0.5066993060591762, -0.5783540348851701],
        # b2' = 0.2 + 0.5 * 0.122296 = 0.261148...
        "b2": 0.261148225655801,
        # W1' = W1 - 0.5 grad_W1
        "W1": [[0.21510356498311486, -0.07281358303039329], [0.3839542799810248, 0.27111770396584467]],
        # b1' = b1 - 0.5 delta1
        "b1": [0.13020712996622968, -0.1320914400379504],
        # a2' = 0.544140..., L' = 1/2 (1 - 0.544140)^2
        "loss_after": 0.10390387540204554,
    },
    "sgd-relu-hidden.yaml": {
        # both hidden units are active: a1 = relu(z1) = z1 = (0.11, 0.37), relu'(z1) = (1, 1)
        "a1": [0.11, 0.37],
        # z2 = 0.5*0.11 - 0.6*0.37 + 0.2 = 0.055 - 0.222 + 0.2 = 0.033
        "z2": 0.033,
        # a2 = sigmoid(0.033) = 0.508249...
        "a2": 0.5082492513940231,
        # L = 1/2 (1 - 0.508249)^2 = 0.120909...
        "loss": 0.12090939937726934,
        # delta2 = (0.508249 - 1) * 0.508249 * 0.491750 = -0.122904...
        "delta2": -0.12290422343999621,
        # delta1 = W2 * delta2 * 1 = (0.5 * -0.122904, -0.6 * -0.122904) = (-0.061452..., 0.073742...)
        "delta1": [-0.061452111719998107, 0.07374253406399772],
        # grad_W2 = delta2 * a1 = (-0.122904*0.11, -0.122904*0.37)
        "grad_W2": [-0.013519464578399584, -0.0454745626727986],
        # grad_W1 = delta1 x^T
        "grad_W1": [
            [-0.030726055859999053, -0.0553069005479983],
            [0.03687126703199886, 0.06636828065759795],
        ],
        "W2": [0.5067597322891998, -0.5772627186636007],
        # b2' = 0.2 + 0.5 * 0.122904 = 0.261452...
        "b2": 0.2614521117199981,
        "W1": [[0.21536302792999953, -0.07234654972600085], [0.3815643664840006, 0.26681585967120103]],
        "b1": [0.13072605585999905, -0.13687126703199887],
        # a2' = 0.544762..., L' = 1/2 (1 - 0.544762)^2
        "loss_after": 0.10362065880171895,
    },
    "sgd-keras-mse.yaml": {
        # forward pass identical to sgd-sigmoid-hidden
        "a1": [0.5274723043445937, 0.5914589784327801],
        "z2": 0.10886076511262882,
        "a2": 0.5271883465782257,
        # Keras mse, one output: L = (1 - 0.527188)^2 = 0.223550... (twice the half_mse loss)
        "loss": 0.22355085961143206,
        # dL/da2 = 2 (a2 - y) = -0.945623...; delta2 = -0.945623 * 0.249263 = -0.235706... (2 x -0.117853)
        "delta2": -0.23570681610938382,
        # delta1 = W2 * delta2 * a1 (1 - a1) = twice the half_mse values
        "delta1": [-0.029374404804938026, 0.03417304600683796],
        "grad_W2": [-0.12432881744294408, -0.1394109126656993],
        "grad_W1": [
            [-0.014687202402469013, -0.026436964324444225],
            [0.01708652300341898, 0.030755741406154165],
        ],
        # the step is twice as large: W2' = W2 - 0.5 * grad_W2 = (0.5 + 0.062164, -0.6 + 0.069705)
        "W2": [0.562164408721472, -0.5302945436671503],
        "b2": 0.3178534080546919,
        "W1": [[0.20734360120123452, -0.08678151783777789], [0.39145673849829055, 0.28462212929692293]],
        "b1": [0.11468720240246902, -0.11708652300341899],
        # a2' = 0.576761..., L' = (1 - 0.576761)^2
        "loss_after": 0.17913105244072272,
    },
}

NAMES_221 = list(EXPECTED_221)


@pytest.mark.parametrize("name", NAMES_221)
def test_221_shape_of_key(solve, name):
    key = solve(name)
    assert len(key["steps"]) == 1
    assert [entry["layer"] for entry in key["steps"][0]["layers"]] == [1, 2]
    assert key["decimals"] == 4
    assert key["sha256"] == hashlib.sha256((PROBLEMS / name).read_bytes()).hexdigest()


@pytest.mark.parametrize("name", NAMES_221)
def test_221_forward_pass(solve, name):
    key, exp = solve(name), EXPECTED_221[name]
    hidden, out = layer(key, 0, 1), layer(key, 0, 2)
    assert_close(hidden["z"], [Z1], "z1")
    assert_close(hidden["a"], [exp["a1"]], "a1")
    assert_close(out["z"], [[exp["z2"]]], "z2")
    assert_close(out["a"], [[exp["a2"]]], "a2")
    assert_close(key["steps"][0]["loss"], exp["loss"], "loss")


@pytest.mark.parametrize("name", NAMES_221)
def test_221_deltas(solve, name):
    key, exp = solve(name), EXPECTED_221[name]
    assert_close(layer(key, 0, 2)["delta"], [[exp["delta2"]]], "delta2")
    assert_close(layer(key, 0, 1)["delta"], [exp["delta1"]], "delta1")


@pytest.mark.parametrize("name", NAMES_221)
def test_221_gradients(solve, name):
    key, exp = solve(name), EXPECTED_221[name]
    out, hidden = layer(key, 0, 2), layer(key, 0, 1)
    assert_close(out["grad_W"], [exp["grad_W2"]], "grad_W2")
    assert_close(out["grad_b"], [exp["delta2"]], "grad_b2")  # one example: grad_b = delta
    assert_close(hidden["grad_W"], exp["grad_W1"], "grad_W1")
    assert_close(hidden["grad_b"], exp["delta1"], "grad_b1")


@pytest.mark.parametrize("name", NAMES_221)
def test_221_updated_weights_and_loss_after(solve, name):
    key, exp = solve(name), EXPECTED_221[name]
    out, hidden = layer(key, 0, 2), layer(key, 0, 1)
    assert_close(out["W"], [exp["W2"]], "W2 after")
    assert_close(out["b"], [exp["b2"]], "b2 after")
    assert_close(hidden["W"], exp["W1"], "W1 after")
    assert_close(hidden["b"], exp["b1"], "b1 after")
    assert_close(key["steps"][0]["loss_after"], exp["loss_after"], "loss_after")
    assert key["steps"][0]["loss_after"] < key["steps"][0]["loss"]


def test_221_verification_reported(solve):
    """The key reports how far derive's answers are from its NumPy and finite-difference checks."""
    ver = solve("sgd-sigmoid-hidden.yaml")["verification"]

    def diffs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if str(k).startswith("max_abs_diff") and isinstance(v, (int, float)):
                    yield k, v
                else:
                    yield from diffs(v)

    found = dict(diffs(ver))
    assert found, f"no max_abs_diff_* entries in {ver!r}"
    assert all(0 <= v < 1e-6 for v in found.values()), found


def test_keras_mse_is_exactly_twice_half_mse(solve):
    """Tutorial note: Keras' mse has no 1/2, so with one output the output delta, every gradient
    and the weight change are exactly twice those of the tutorial's 1/2 (y - a)^2."""
    half, keras = solve("sgd-sigmoid-hidden.yaml"), solve("sgd-keras-mse.yaml")
    assert_close(keras["steps"][0]["loss"], 2 * half["steps"][0]["loss"], "loss x2")
    for number in (1, 2):
        h, k = layer(half, 0, number), layer(keras, 0, number)
        assert_close(k["z"], h["z"], f"z{number} unchanged")
        assert_close(k["a"], h["a"], f"a{number} unchanged")
        for field in ("delta", "grad_W", "grad_b"):
            assert_close(k[field], scale(h[field], 2.0), f"{field}{number} x2")
    # delta_out: (-0.472811 * 0.249263) * 2 = -0.235706...
    assert layer(keras, 0, 2)["delta"][0][0] == pytest.approx(2 * -0.11785340805469191, rel=REL)


# --------------------------------------------------------------------------------------------
# Ng's 4-layer network with regularisation (ng-4layer-regularised.yaml)
#
# 3-3-3-2 sigmoid, bce summed over the 2 outputs, m = 3, lambda = 1, eta = 1.
#   delta4 = a4 - y; delta3 = W3^T delta4 .* a3 (1 - a3); delta2 = W2^T delta3 .* a2 (1 - a2)
#   Delta^l = sum_i delta^(l+1) (a^l)^T;  D^l = Delta^l / m + (lambda/m) W^l, bias: Delta / m
# (in the JSON's numbering layer 1 = first hidden, so JSON layer k carries Ng's delta^(k+1)
# and Ng's Theta^(k) = W_k).
# --------------------------------------------------------------------------------------------

NG = "ng-4layer-regularised.yaml"
NG_W = {
    1: [[0.1, 0.3, -0.2], [0.4, -0.1, 0.2], [-0.3, 0.2, 0.5]],
    2: [[0.2, -0.4, 0.3], [0.5, 0.1, -0.2], [-0.1, 0.3, 0.4]],
    3: [[0.6, -0.3, 0.2], [-0.4, 0.5, 0.1]],
}
NG_B = {1: [0.2, -0.2, 0.0], 2: [0.0, 0.1, -0.1], 3: [0.1, -0.2]}
NG_M, NG_LAMBDA, NG_ETA = 3, 1.0, 1.0

# a4 = h(x) per example, from the forward pass z = W a + b, a = sigmoid(z), layer by layer
NG_A4 = [
    [0.5850694205278115, 0.4854622041231414],  # x = (1, 0, 1)
    [0.5887774841630963, 0.48278477225391],  # x = (0, 1, 1)
    [0.5842342764853077, 0.4863467546348104],  # x = (1, 1, 0)
]
# delta4 = a4 - y with y = (1,0), (0,1), (1,1)
NG_DELTA4 = [
    [-0.4149305794721885, 0.4854622041231414],
    [0.5887774841630963, -0.51721522774609],
    [-0.4157657235146923, -0.5136532453651896],
]
# delta3_i = sum_k W3_ki delta4_k * a3_i (1 - a3_i)
NG_DELTA3 = [
    [-0.11076009570560945, 0.08959878168119016, -0.008479932501083986],
    [0.13948960890999867, -0.10638101629346329, 0.016248466880333136],
    [-0.010989090475651756, -0.03185824113193654, -0.03334981917357752],
]
# delta2_i = sum_k W2_ki delta3_k * a2_i (1 - a2_i)
NG_DELTA2 = [
    [0.005859181074013523, 0.012186009815514187, -0.013499493988662776],
    [-0.006580190239127666, -0.015351440687761335, 0.015436198464501952],
    [-0.0033841665884844848, -0.002193295608840206, -0.0025598466949056063],
]
# (1/m) Delta^l = (1/3) sum over the 3 examples of delta^(l+1) (a^l)^T  -- unregularised part
NG_D_UNREG = {
    1: [
        [0.0008250048285096795, -0.0033214522758707172, -0.0002403363883713809],
        [0.0033309047355579934, -0.005848245432200513, -0.0010551436240823827],
        [-0.00535311356118946, 0.004292117256532116, 0.0006455681586130588],
    ],
    2: [
        [0.004962280465807599, -0.001939759652730108, 0.009028512722347129],
        [-0.011547252475533955, -0.004538808462283689, -0.012317121860000722],
        [-0.005550166308712049, -0.004955477326527476, -0.0032157954997853993],
    ],
    3: [
        [-0.03736693720650938, -0.04939292720331504, -0.042823749722794235],
        [-0.09770141287171737, -0.10733102928132482, -0.0995848672749282],
    ],
}
# bias gradients (1/m) sum delta^(l+1), not regularised
NG_DB = {
    1: [-0.001368391917866209, -0.0017862421603624514, -0.00020771407302214336],
    2: [0.005913474242912491, -0.016213491914736557, -0.008527094931442792],
    3: [-0.08063960627459484, -0.18180208966271275],
}
# J = data term + lambda/(2m) * sum W^2
#   data term = (1/3) sum_i sum_k [-y log a - (1-y) log(1-a)] = 1.358534...
#   sum W^2 = 0.73 + 0.85 + 0.91 = 2.49;  lambda/(2m) * 2.49 = 2.49/6 = 0.415
NG_LOSS = 1.3585342725811296 + 0.415
# the same J recomputed with the updated parameters: 1.307633... + 0.199226...
NG_LOSS_AFTER = 1.307633711610386 + 0.19922615859724163


def test_ng_forward_and_deltas(solve):
    key = solve(NG)
    assert len(key["steps"]) == 1
    assert_close(layer(key, 0, 3)["a"], NG_A4, "a4")
    assert_close(layer(key, 0, 3)["delta"], NG_DELTA4, "delta4")
    assert_close(layer(key, 0, 2)["delta"], NG_DELTA3, "delta3")
    assert_close(layer(key, 0, 1)["delta"], NG_DELTA2, "delta2")


def test_ng_regularised_gradient(solve):
    key = solve(NG)
    for number in (1, 2, 3):
        entry = layer(key, 0, number)
        # D = (1/m) Delta + (lambda/m) Theta for the weights ...
        expected = [
            [d + NG_LAMBDA / NG_M * w for d, w in zip(d_row, w_row)]
            for d_row, w_row in zip(NG_D_UNREG[number], NG_W[number])
        ]
        assert_close(entry["grad_W"], expected, f"grad_W{number}")
        # ... and (1/m) Delta for the biases: no regularisation term
        assert_close(entry["grad_b"], NG_DB[number], f"grad_b{number}")


def test_ng_update_and_cost(solve):
    key = solve(NG)
    step = key["steps"][0]
    assert_close(step["loss"], NG_LOSS, "J before")
    assert_close(step["loss_after"], NG_LOSS_AFTER, "J after")
    for number in (1, 2, 3):
        entry = layer(key, 0, number)
        new_w = [
            [w - NG_ETA * (d + NG_LAMBDA / NG_M * w) for d, w in zip(d_row, w_row)]
            for d_row, w_row in zip(NG_D_UNREG[number], NG_W[number])
        ]
        new_b = [b - NG_ETA * db for b, db in zip(NG_B[number], NG_DB[number])]
        assert_close(entry["W"], new_w, f"W{number} after")
        assert_close(entry["b"], new_b, f"b{number} after")


# --------------------------------------------------------------------------------------------
# Per-example SGD with bce over epochs (online-course challenge, bce-relu-epochs.yaml)
# --------------------------------------------------------------------------------------------

BCE = "bce-relu-epochs.yaml"


def test_bce_epochs_first_step_by_hand(solve):
    key = solve(BCE)
    first = key["steps"][0]
    # first example x = (0, 0), y = 0: z1 = b1 = (0.1, 0.2, 0.3), all active, a1 = z1
    assert_close(layer(key, 0, 1)["a"], [[0.1, 0.2, 0.3]], "a1")
    # z2 = 0.6*0.1 + 0.5*0.2 + 0.4*0.3 - 0.5 = 0.06 + 0.10 + 0.12 - 0.5 = -0.22
    assert_close(layer(key, 0, 2)["z"], [[-0.22]], "z2")
    # a2 = sigmoid(-0.22) = 0.445221...; L = -log(1 - 0.445221) = 0.589185...
    a2 = 1 / (1 + math.exp(0.22))
    assert_close(layer(key, 0, 2)["a"], [[a2]], "a2")
    assert_close(first["loss"], -math.log(1 - a2), "loss")
    # sigmoid + bce: delta2 = a2 - y = a2
    assert_close(layer(key, 0, 2)["delta"], [[a2]], "delta2")


def test_bce_epochs_average_loss_falls_every_epoch(solve):
    key = solve(BCE)
    steps = key["steps"]
    per_epoch = 4  # batch size 1 over 4 examples
    assert len(steps) == 5 * per_epoch
    assert all(len(layer(key, i, 1)["z"]) == 1 for i in range(len(steps)))  # one example per step
    means = [
        sum(step["loss"] for step in steps[e * per_epoch : (e + 1) * per_epoch]) / per_epoch
        for e in range(len(steps) // per_epoch)
    ]
    assert all(later < earlier for earlier, later in zip(means, means[1:])), means


BCE_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
BCE_Y = [0.0, 1.0, 1.0, 1.0]
BCE_W1 = [[0.5, 0.4], [-0.3, 0.6], [0.7, -0.2]]
BCE_B1 = [0.1, 0.2, 0.3]


def test_bce_epochs_examples_in_file_order_wrapping(solve):
    """Step i uses example i mod 4 with the weights left by step i - 1 (file order, wrapping)."""
    key = solve(BCE)
    w1, b1 = BCE_W1, BCE_B1
    for i, step in enumerate(key["steps"]):
        x, y = BCE_X[i % 4], BCE_Y[i % 4]
        # z1_j = sum_k W1_jk x_k + b1_j with the current (pre-update) weights
        z1 = [sum(w * xk for w, xk in zip(row, x)) + b for row, b in zip(w1, b1)]
        assert_close(layer(key, i, 1)["z"], [z1], f"step {i} z1")
        # per-example bce of the step's output activation against this example's target
        a2 = layer(key, i, 2)["a"][0][0]
        assert_close(step["loss"], -(y * math.log(a2) + (1 - y) * math.log(1 - a2)), f"step {i} loss")
        w1, b1 = layer(key, i, 1)["W"], layer(key, i, 1)["b"]

"""ag.nn: parameter discovery, layers, initialisation, saving and loading."""

import doctest
import io
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from autograd import nn


# ---------------------------------------------------------------------------
# manual_seed and initialisation
# ---------------------------------------------------------------------------

def test_manual_seed_makes_initialisation_reproducible():
    ag.manual_seed(3)
    first = nn.MLP([4, 5, 2])
    ag.manual_seed(3)
    second = nn.MLP([4, 5, 2])
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    ag.manual_seed(4)
    third = nn.MLP([4, 5, 2])
    assert not np.array_equal(first[0].weight.data, third[0].weight.data)


def test_manual_seed_is_exported_and_returns_the_generator():
    assert ag.manual_seed is nn.manual_seed
    assert isinstance(ag.manual_seed(0), np.random.Generator)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None, True])
def test_manual_seed_rejects_non_integers(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        ag.manual_seed(seed)


@pytest.mark.parametrize("in_features, out_features", [(1, 1), (3, 2), (64, 128), (7, 0)])
def test_linear_initialises_like_pytorch_from_the_seeded_generator(in_features, out_features):
    ag.manual_seed(11)
    layer = nn.Linear(in_features, out_features)
    # The documented recipe: weight then bias, uniform in ±1/sqrt(in_features).
    reference = np.random.default_rng(11)
    bound = 1 / np.sqrt(in_features)
    expected_weight = reference.uniform(-bound, bound, (out_features, in_features))
    expected_bias = reference.uniform(-bound, bound, out_features)
    np.testing.assert_array_equal(layer.weight.data, expected_weight)
    np.testing.assert_array_equal(layer.bias.data, expected_bias)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    assert np.all(np.abs(layer.weight.data) <= bound)


def test_linear_weights_fill_the_whole_init_interval():
    ag.manual_seed(0)
    weight = nn.Linear(16, 1000).weight.data
    assert weight.min() < -0.24 and weight.max() > 0.24  # bound is 1/4
    assert abs(weight.mean()) < 0.01


# ---------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("batch_shape", [(), (5,), (2, 3)])
def test_linear_computes_x_times_weight_transposed_plus_bias(batch_shape):
    ag.manual_seed(0)
    layer = nn.Linear(4, 3)
    x = np.random.default_rng(1).normal(size=batch_shape + (4,))
    y = layer(ag.tensor(x))
    assert y.shape == batch_shape + (3,)
    np.testing.assert_allclose(y.data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-12)


@given(
    batch=st.integers(1, 6), in_features=st.integers(1, 5), out_features=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_gradients_match_the_matrix_formulas(batch, in_features, out_features, seed):
    # For y = x W^T + b and loss = sum(y * g): dW = g^T x, db = sum_rows g, dx = g W.
    ag.manual_seed(seed)
    layer = nn.Linear(in_features, out_features)
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.normal(size=(batch, in_features)), requires_grad=True)
    g = rng.normal(size=(batch, out_features))
    (layer(x) * g).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, g.T @ x.data, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, g @ layer.weight.data, rtol=1e-10, atol=1e-12)


def test_linear_without_bias_has_only_a_weight():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = np.ones((1, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data.T)


def test_linear_float32_stays_float32_through_forward_and_backward():
    layer = nn.Linear(3, 2, dtype=np.float32)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    y = layer(ag.tensor(np.ones((4, 3), dtype=np.float32)))
    assert y.dtype == np.float32
    y.sum().backward()
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32


def test_linear_accepts_plain_arrays_and_lists():
    layer = nn.Linear(2, 1)
    assert layer([[1.0, 2.0]]).shape == (1, 1)
    assert layer(np.zeros((3, 2))).shape == (3, 1)


@pytest.mark.parametrize("shape", [(5, 3), (3,), ()])
def test_linear_rejects_inputs_with_the_wrong_last_axis(shape):
    layer = nn.Linear(4, 2)
    expected = re.escape(f"expects input of shape (..., 4), got shape {shape} float64")
    with pytest.raises(ValueError, match=expected):
        layer(ag.tensor(np.zeros(shape)))


@pytest.mark.parametrize("arguments, error", [
    ((-1, 2), ValueError), ((2, -1), ValueError), ((2.5, 2), ValueError), ((True, 2), ValueError),
])
def test_linear_rejects_bad_sizes(arguments, error):
    with pytest.raises(error, match="must be a non-negative integer"):
        nn.Linear(*arguments)


def test_linear_rejects_integer_dtypes():
    with pytest.raises(TypeError, match="floating dtype"):
        nn.Linear(2, 2, dtype=np.int64)


# ---------------------------------------------------------------------------
# Activations, Sequential, MLP
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("layer, reference", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
])
def test_activations_match_numpy_and_have_no_parameters(layer, reference):
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    np.testing.assert_allclose(layer(ag.tensor(x)).data, reference(x), rtol=1e-12)
    assert layer.parameters() == []


def test_sequential_composes_layers_and_names_parameters_like_pytorch():
    ag.manual_seed(0)
    first, second = nn.Linear(3, 4), nn.Linear(4, 2)
    model = nn.Sequential(first, nn.ReLU(), second)
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model) == 3 and model[0] is first and model[-1] is second
    assert list(model)[1].__class__ is nn.ReLU
    x = ag.tensor(np.random.default_rng(0).normal(size=(5, 3)))
    np.testing.assert_allclose(model(x).data, second(first(x).relu()).data)


def test_sequential_accepts_plain_functions_as_layers():
    model = nn.Sequential(nn.Linear(2, 2), ag.tanh)
    x = ag.tensor([[0.5, -0.5]])
    np.testing.assert_allclose(model(x).data, np.tanh(model[0](x).data))
    assert len(model.parameters()) == 2


def test_sequential_rejects_non_callables():
    with pytest.raises(TypeError, match="layer 1 is not callable"):
        nn.Sequential(nn.ReLU(), 3)


def test_mlp_alternates_linear_and_activation_with_none_after_the_last_layer():
    model = nn.MLP([2, 8, 4, 1], activation=nn.Tanh)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert [(layer.in_features, layer.out_features) for layer in model[::2]] == [
        (2, 8), (8, 4), (4, 1)]
    assert model(ag.tensor(np.zeros((3, 2)))).shape == (3, 1)
    assert nn.MLP([3, 5]).parameters()[0].shape == (5, 3)  # one layer, no activation
    assert [type(layer) for layer in nn.MLP([1, 2, 1])] == [nn.Linear, nn.ReLU, nn.Linear]


def test_mlp_accepts_a_function_as_activation_and_a_dtype():
    model = nn.MLP([2, 3, 1], activation=ag.sigmoid, dtype=np.float32)
    assert model[1] is ag.sigmoid
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_mlp_needs_at_least_two_sizes():
    with pytest.raises(ValueError, match="at least two sizes"):
        nn.MLP([3])


# ---------------------------------------------------------------------------
# Module: finding parameters and sub-modules
# ---------------------------------------------------------------------------

class Scalars(nn.Module):
    """A module with Tensors in attributes, a list, a tuple and a dict, no super().__init__()."""

    def __init__(self):
        self.scale = ag.tensor(2.0, requires_grad=True)
        self.name = "not a parameter"
        self.in_a_list = [ag.tensor([1.0, 2.0], requires_grad=True), 3.0]
        self.in_a_tuple = (ag.tensor(4.0, requires_grad=True),)
        self.in_a_dict = {"shift": ag.tensor(5.0, requires_grad=True)}

    def forward(self, x):
        return self.scale * x + self.in_a_dict["shift"]


class Nested(nn.Module):
    def __init__(self):
        super().__init__()  # allowed, not needed
        self.head = Scalars()
        self.blocks = [nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 1))]
        self.also_head = self.head  # a shared module is listed once

    def forward(self, x):
        return self.blocks[1](self.blocks[0](x))


def test_named_parameters_walks_attributes_containers_and_submodules_in_order():
    names = [name for name, _ in Nested().named_parameters()]
    assert names == [
        "head.scale", "head.in_a_list.0", "head.in_a_tuple.0", "head.in_a_dict.shift",
        "blocks.0.weight", "blocks.0.bias", "blocks.1.0.weight", "blocks.1.0.bias",
    ]


def test_parameters_are_the_very_tensors_the_module_holds():
    module = Scalars()
    assert module.parameters()[0] is module.scale
    assert module.parameters()[3] is module.in_a_dict["shift"]


def test_a_shared_parameter_is_listed_once():
    module = Scalars()
    module.alias = module.scale
    names = [name for name, _ in module.named_parameters()]
    assert names.count("scale") == 1 and "alias" not in names


def test_modules_and_children():
    model = Nested()
    assert [name for name, _ in model.named_children()] == ["head", "blocks.0", "blocks.1"]
    assert [name for name, _ in model.named_modules()] == [
        "", "head", "blocks.0", "blocks.1", "blocks.1.0"]
    assert model.children()[0] is model.head
    assert model.modules()[0] is model


def test_a_module_cycle_does_not_loop_forever():
    outer, inner = Scalars(), Scalars()
    outer.child, inner.parent = inner, outer
    assert len(outer.modules()) == 2
    assert len(outer.parameters()) == 8


def test_call_runs_forward_and_a_missing_forward_says_so():
    module = Scalars()
    np.testing.assert_allclose(module(ag.tensor([1.0, 2.0])).data, [7.0, 9.0])

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward must define forward"):
        NoForward()(1.0)


def test_zero_grad_clears_every_gradient():
    ag.manual_seed(0)
    model = nn.MLP([3, 4, 1])
    model(ag.tensor(np.ones((2, 3)))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_set_the_flag_on_every_module():
    model = Nested()
    assert model.training
    assert model.eval() is model
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())


def test_repr_shows_the_structure():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1, bias=False)))
    assert text.splitlines() == [
        "Sequential(",
        "  (0): Linear(in_features=2, out_features=3, bias=True)",
        "  (1): ReLU()",
        "  (2): Linear(in_features=3, out_features=1, bias=False)",
        ")",
    ]


# ---------------------------------------------------------------------------
# state_dict, load_state_dict, save, load
# ---------------------------------------------------------------------------

def test_state_dict_holds_copies_in_parameter_order():
    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2])
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (4, 3)  # PyTorch's (out_features, in_features)
    state["0.weight"][...] = 0.0
    assert np.any(model[0].weight.data != 0.0)


def test_load_state_dict_copies_in_place_and_casts():
    ag.manual_seed(0)
    source = nn.MLP([3, 4, 2])
    ag.manual_seed(1)
    target = nn.MLP([3, 4, 2], dtype=np.float32)
    weight_array = target[0].weight.data
    target.load_state_dict(source.state_dict())
    assert target[0].weight.data is weight_array  # references (optimizers) stay valid
    assert weight_array.dtype == np.float32
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(target(x.astype(np.float32)).data, source(x).data, rtol=1e-5)


def test_load_state_dict_names_missing_and_unexpected_keys():
    model = nn.MLP([3, 4, 2])
    state = model.state_dict()
    state["extra"] = state.pop("2.bias")
    with pytest.raises(KeyError, match=r"missing \['2.bias'\], unexpected \['extra'\]"):
        model.load_state_dict(state)


def test_load_state_dict_shape_mismatch_changes_nothing():
    model = nn.MLP([3, 4, 2])
    before = model.state_dict()
    state = nn.MLP([3, 4, 2]).state_dict()
    state["2.weight"] = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(4, 2\).*shape \(2, 4\)"):
        model.load_state_dict(state)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


@pytest.mark.parametrize("filename", ["weights.npz", "weights"])
def test_save_and_load_round_trip_through_npz(tmp_path, filename):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model.save(tmp_path / filename)
    assert (tmp_path / "weights.npz").exists()
    ag.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    assert fresh.load(str(tmp_path / filename)) is fresh
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name], array)


def test_save_and_load_accept_open_files():
    model = nn.MLP([2, 3, 1])
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    fresh = nn.MLP([2, 3, 1]).load(buffer)
    np.testing.assert_array_equal(fresh[0].weight.data, model[0].weight.data)


def test_sequential_slices_are_sequentials():
    model = nn.MLP([2, 3, 4, 1])
    head = model[:3]
    assert isinstance(head, nn.Sequential) and len(head) == 3
    assert head[0] is model[0]
    assert head(ag.tensor(np.ones((1, 2)))).shape == (1, 4)


def test_load_into_a_different_architecture_fails_clearly(tmp_path):
    nn.MLP([3, 4, 2]).save(tmp_path / "small")
    with pytest.raises(KeyError, match=r"missing \['4.weight', '4.bias'\]"):
        nn.MLP([3, 4, 4, 2]).load(tmp_path / "small")


def test_docstring_examples_run():
    results = doctest.testmod(nn.modules, extraglobs={"ag": ag, "np": np})
    assert results.attempted >= 10 and results.failed == 0


# ---------------------------------------------------------------------------
# Loading is a tracked write: a graph that saved the old values refuses backward
# ---------------------------------------------------------------------------

def _load_state_dict(model, state, tmp_path):
    model.load_state_dict(state)


def _load_from_file(model, state, tmp_path):
    source = nn.MLP([3, 4, 2])
    source.load_state_dict(state)
    source.save(tmp_path / "source")
    model.load(tmp_path / "source")


@pytest.mark.parametrize("load", [_load_state_dict, _load_from_file],
                         ids=["load_state_dict", "load"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loading_makes_a_retained_graph_refuse_backward(load, dtype, tmp_path):
    # Before the fix load_state_dict copied into .data[...] behind the version counter:
    # the second backward ran through the old graph with the new weights.
    ag.manual_seed(0)
    model = nn.MLP([3, 4, 2], dtype=dtype)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(dtype)
    loss = (model(x) ** 2).sum()
    loss.backward(retain_graph=True)
    ag.manual_seed(1)
    state = nn.MLP([3, 4, 2]).state_dict()
    load(model, state, tmp_path)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    # A fresh forward uses the loaded values and differentiates normally.
    model.zero_grad()
    reference = nn.MLP([3, 4, 2])
    reference.load_state_dict(state)
    fresh = (model(x) ** 2).sum()
    fresh.backward()
    (reference(x.astype(np.float64)) ** 2).sum().backward()
    np.testing.assert_allclose(fresh.item(), (reference(x.astype(np.float64)) ** 2).sum().item(),
                               rtol=1e-5)
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-4, atol=1e-6)


def test_loading_a_scalar_parameter_is_tracked_too():
    module = Scalars()                      # its parameters are 0-d and 1-d
    loss = module(ag.tensor([1.0, 2.0])).sum()
    state = module.state_dict()
    state["scale"] = np.float64(-1.0)
    module.load_state_dict(state)
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    assert module.scale.item() == -1.0 and module.scale.shape == ()


# ---------------------------------------------------------------------------
# save and load: any name round-trips; wrong files are named
# ---------------------------------------------------------------------------

class AwkwardNames(nn.Module):
    """Parameter names that are np.savez's own keywords, dotted, or otherwise unusual."""

    def __init__(self):
        self.file = ag.tensor([1.0, 2.0], requires_grad=True)
        self.allow_pickle = ag.tensor(3.0, requires_grad=True)
        self.args = ag.tensor([[4.0]], requires_grad=True)
        self.kwds = ag.tensor([5.0, 6.0, 7.0], requires_grad=True)
        self.table = {"a.b": ag.tensor([8.0], requires_grad=True),
                      "x.npy": ag.tensor([9.0], requires_grad=True),
                      "ünï cødé/slash": ag.tensor([10.0], requires_grad=True)}
        self.inner = nn.Linear(2, 1)


def _scramble(module):
    for tensor in module.parameters():
        tensor.data = np.zeros_like(tensor.data)


@pytest.mark.parametrize("to_file", [True, False], ids=["path", "open file"])
def test_any_parameter_name_round_trips_through_save_and_load(tmp_path, to_file):
    # Before the fix np.savez(path, **state) crashed on "file" and dropped "allow_pickle".
    ag.manual_seed(0)
    model = AwkwardNames()
    expected = model.state_dict()
    assert {"file", "allow_pickle", "args", "kwds", "table.a.b", "table.x.npy",
            "inner.weight"} <= set(expected)
    target = tmp_path / "awkward.npz" if to_file else io.BytesIO()
    model.save(target)
    _scramble(model)
    if not to_file:
        target.seek(0)
    model.load(target)
    got = model.state_dict()
    assert list(got) == list(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(got[name], array, err_msg=name)
        assert got[name].shape == array.shape and got[name].dtype == array.dtype


def test_a_saved_archive_is_a_plain_npz_numpy_can_read(tmp_path):
    model = AwkwardNames()
    model.save(tmp_path / "awkward")
    with np.load(tmp_path / "awkward.npz", allow_pickle=False) as archive:
        assert set(archive.files) == set(model.state_dict())
        np.testing.assert_array_equal(archive["file"], model.file.data)
        np.testing.assert_array_equal(archive["allow_pickle"], model.allow_pickle.data)


def test_names_that_collide_are_refused_rather_than_silently_merged():
    class Colliding(nn.Module):
        def __init__(self):
            self.a = {"b.c": ag.tensor([1.0], requires_grad=True),
                      "b": {"c": ag.tensor([2.0], requires_grad=True)}}

    with pytest.raises(ValueError, match=r"'a\.b\.c'.*2 tensors"):
        Colliding().state_dict()
    with pytest.raises(ValueError, match=r"'a\.b\.c'"):
        Colliding().load_state_dict({"a.b.c": np.ones(1)})


def test_load_of_a_npy_file_says_an_npz_was_expected(tmp_path):
    np.save(tmp_path / "weights.npy", np.ones(3))
    model = nn.MLP([2, 1])
    with pytest.raises(ValueError, match=r"\.npz archive written by Module\.save.*"
                                         r"weights\.npy.*\.npy file \(a single array"):
        model.load(tmp_path / "weights.npy")
    with open(tmp_path / "weights.npy", "rb") as handle, \
            pytest.raises(ValueError, match=r"\.npz archive.*\.npy file"):
        model.load(handle)


def test_load_of_a_missing_file_names_the_paths_tried(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Module\.load: no file at '.*nowhere\.npz' or '.*nowhere'"):
        nn.MLP([2, 1]).load(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"Module\.load.*gone\.npz"):
        nn.MLP([2, 1]).load(str(tmp_path / "gone.npz"))


@pytest.mark.parametrize("content", [b"", b"not an archive at all", b"PK\x03\x04truncated"],
                         ids=["empty", "text", "truncated zip"])
def test_load_of_a_file_that_is_not_an_archive_says_so(tmp_path, content):
    (tmp_path / "junk.npz").write_bytes(content)
    with pytest.raises(ValueError, match=r"expected an \.npz archive written by Module\.save.*"
                                         r"junk\.npz.*not a zip archive"):
        nn.MLP([2, 1]).load(tmp_path / "junk.npz")


def test_load_of_a_zip_that_is_not_an_npz_says_so(tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"'readme\.txt' is not a \.npy array"):
        nn.MLP([2, 1]).load(tmp_path / "other.npz")


def test_load_refuses_pickled_object_arrays(tmp_path):
    np.savez(tmp_path / "pickled.npz", **{"0.weight": np.array([object()], dtype=object)})
    with pytest.raises(ValueError, match=r"'0\.weight'.*object array"):
        nn.MLP([2, 1]).load(tmp_path / "pickled.npz")


# ---------------------------------------------------------------------------
# Parameters require grad; other Tensors a module holds are buffers
# ---------------------------------------------------------------------------

class WithBuffers(nn.Module):
    def __init__(self):
        self.weight = ag.tensor([1.0, 2.0], requires_grad=True)
        self.indices = ag.tensor([1, 0, 1])                    # int: can never require grad
        self.mask = ag.tensor([1.0, 0.0])                      # float, not trained
        self.layer = nn.Linear(2, 1)

    def forward(self, x):
        return self.layer(self.weight * self.mask * x[..., self.indices.data][..., :2])


def test_parameters_are_the_tensors_that_require_grad_and_the_rest_are_buffers():
    model = WithBuffers()
    assert [name for name, _ in model.named_parameters()] == [
        "weight", "layer.weight", "layer.bias"]
    assert [name for name, _ in model.named_buffers()] == ["indices", "mask"]
    assert model.buffers()[0] is model.indices
    assert all(p.requires_grad for p in model.parameters())


def test_an_optimizer_takes_the_parameters_of_a_module_that_holds_an_integer_tensor():
    # Before the fix parameters() listed the int64 tensor and Adam refused it.
    model = WithBuffers()
    opt = ag.optim.Adam(model.parameters(), lr=0.1)
    model(np.ones((4, 3))).sum().backward()
    before = model.weight.data.copy()
    opt.step()
    assert not np.array_equal(model.weight.data, before)
    np.testing.assert_array_equal(model.indices.data, [1, 0, 1])


def test_state_dict_holds_parameters_and_buffers_and_load_restores_both(tmp_path):
    model = WithBuffers()
    state = model.state_dict()
    assert list(state) == ["weight", "indices", "mask", "layer.weight", "layer.bias"]
    assert state["indices"].dtype == np.int64
    model.save(tmp_path / "buffers")
    fresh = WithBuffers()
    fresh.indices.data = np.array([0, 0, 0])
    fresh.mask.data = np.array([5.0, 5.0])
    fresh.load(tmp_path / "buffers")
    np.testing.assert_array_equal(fresh.indices.data, [1, 0, 1])
    assert fresh.indices.dtype == np.int64
    np.testing.assert_array_equal(fresh.mask.data, [1.0, 0.0])


def test_load_state_dict_refuses_fractions_into_an_integer_buffer():
    model = WithBuffers()
    state = model.state_dict()
    state["indices"] = np.array([0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"'indices'.*int64.*cannot hold"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.indices.data, [1, 0, 1])   # nothing changed


def test_load_state_dict_refuses_nan_into_an_integer_buffer_without_a_numpy_warning():
    import warnings
    model = WithBuffers()
    state = model.state_dict()
    state["indices"] = np.array([np.nan, 1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # NumPy's "invalid value encountered in cast"
        with pytest.raises(ValueError, match=r"'indices'.*int64.*cannot hold"):
            model.load_state_dict(state)

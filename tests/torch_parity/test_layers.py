"""Layers beyond the convolutional core against torch.nn, in float64: the same constructor arguments, torch's
weights copied in, then outputs, the input's gradient and every parameter's gradient compared."""
import numpy as np
import pytest
import torch

import nnci

TOL = dict(rtol=1e-8, atol=1e-10)


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _outputs(item)]
    return [out] if out is not None else []


def compare_layer(name, args, kwargs, shapes, seed=0, train=True, extra=None, integer_input=None):
    """Build torch.nn.<name>(*args, **kwargs) and nnci.nn.<name> alike, copy torch's state dict, compare."""
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nnci.nn, name)(*args, **kwargs).to(nnci.float64)
    theirs.train(train), ours.train(train)
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd), name
    for key, value in sd.items():
        assert tuple(ours.state_dict()[key].shape) == tuple(value.shape), key
    ours.load_state_dict({k: v.detach().numpy() for k, v in sd.items()})
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    if integer_input is not None:
        arrays = [rng.integers(0, integer_input, size=shapes[0])]
    inputs_theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    inputs_ours = [nnci.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    extra = extra or {}
    out_theirs = _outputs(theirs(*inputs_theirs, **extra.get("torch", {})))
    out_ours = _outputs(ours(*inputs_ours, **extra.get("nnci", {})))
    assert len(out_ours) == len(out_theirs)
    total_theirs, total_ours = 0, 0
    for o, t in zip(out_ours, out_theirs):
        assert tuple(o.shape) == tuple(t.shape), (name, o.shape, t.shape)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), **TOL, err_msg=f"{name} output")
        if t.requires_grad:
            weights = rng.standard_normal(tuple(t.shape))
            total_theirs = total_theirs + (t * torch.tensor(weights)).sum()
            total_ours = total_ours + (o * nnci.tensor(weights)).sum()
    if isinstance(total_theirs, int):
        return
    total_theirs.backward()
    total_ours.backward()
    for i, (a, b) in enumerate(zip(inputs_ours, inputs_theirs)):
        if b.requires_grad and b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL, err_msg=f"{name} input {i} grad")
    grads_theirs = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        expected = grads_theirs[pname].grad
        if expected is None:
            assert p.grad is None or not np.any(p.grad.numpy()), pname
            continue
        np.testing.assert_allclose(p.grad.numpy(), expected.numpy(), **TOL, err_msg=f"{name} grad of {pname}")
    for key, value in theirs.state_dict().items():  # running statistics
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.detach().numpy(), **TOL,
                                   err_msg=f"{name} {key} after forward")


CASES = [
    ("LayerNorm", (6,), {}, [(3, 4, 6)]),
    ("LayerNorm", ((4, 6),), dict(eps=1e-3, bias=False), [(2, 4, 6)]),
    ("LayerNorm", (6,), dict(elementwise_affine=False), [(5, 6)]),
    ("RMSNorm", (6,), {}, [(3, 4, 6)]),
    ("RMSNorm", ((2, 6),), dict(eps=1e-4), [(3, 2, 6)]),
    ("GroupNorm", (2, 6), {}, [(3, 6, 4, 5)]),
    ("GroupNorm", (3, 6), dict(affine=False, eps=1e-3), [(2, 6, 7)]),
    ("InstanceNorm2d", (3,), {}, [(2, 3, 5, 6)]),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True), [(2, 3, 5, 6)]),
    ("InstanceNorm2d", (3,), dict(affine=True), [(3, 5, 6)]),
    ("InstanceNorm1d", (4,), dict(affine=True, track_running_stats=True, momentum=0.3), [(2, 4, 9)]),
    ("BatchNorm1d", (4,), {}, [(5, 4, 3)]),
    ("BatchNorm3d", (2,), {}, [(3, 2, 3, 4, 2)]),
    ("SyncBatchNorm", (3,), {}, [(4, 3, 5, 5)]),
    ("LocalResponseNorm", (3,), dict(alpha=1e-2, beta=0.6, k=1.5), [(2, 5, 4, 4)]),
    ("Bilinear", (3, 4, 5), {}, [(6, 3), (6, 4)]),
    ("PReLU", (), {}, [(3, 4)]),
    ("PReLU", (3,), dict(init=0.1), [(2, 3, 4)]),
    ("Conv1d", (3, 4, 3), dict(stride=2, padding=1, dilation=2), [(2, 3, 11)]),
    ("Conv1d", (4, 4, 3), dict(groups=2, padding="same", padding_mode="circular"), [(2, 4, 9)]),
    ("ConvTranspose1d", (3, 2, 4), dict(stride=2, padding=1, output_padding=1), [(2, 3, 7)]),
    ("Conv2d", (4, 6, 3), dict(groups=2, dilation=2, padding=2, padding_mode="replicate"), [(2, 4, 9, 8)]),
    ("ConvTranspose2d", (4, 2, 3), dict(stride=2, padding=1, output_padding=1, groups=2), [(2, 4, 5, 4)]),
    ("ReflectionPad2d", ((1, 2, 2, 0),), {}, [(2, 3, 4, 5)]),
    ("ReplicationPad2d", (2,), {}, [(1, 2, 3, 4)]),
    ("ZeroPad2d", ((1, 0, 2, 1),), {}, [(2, 3, 3)]),
    ("ConstantPad1d", (2, 0.5), {}, [(2, 3, 4)]),
    ("CircularPad2d", (1,), {}, [(1, 2, 4, 4)]),
    ("ReflectionPad1d", (2,), {}, [(2, 3, 5)]),
    ("Unfold", (2,), dict(stride=1, padding=1, dilation=1), [(2, 3, 4, 5)]),
    ("Fold", ((4, 5), 2), dict(padding=1), [(2, 12, 30)]),
    ("PixelShuffle", (2,), {}, [(2, 8, 3, 3)]),
    ("PixelUnshuffle", (2,), {}, [(2, 2, 4, 6)]),
    ("ChannelShuffle", (3,), {}, [(2, 6, 2, 2)]),
    ("LPPool2d", (2, 2), {}, [(2, 3, 6, 6)]),
    ("LPPool1d", (3, 3), dict(stride=2), [(2, 3, 9)]),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, [(2, 3, 7, 5)]),
    ("AdaptiveMaxPool1d", (4,), {}, [(2, 3, 9)]),
    ("Upsample", (), dict(scale_factor=2, mode="bicubic", align_corners=False), [(1, 2, 4, 5)]),
    ("Upsample", (), dict(size=(7, 3), mode="bilinear", align_corners=True), [(1, 2, 4, 5)]),
    ("Upsample", (), dict(scale_factor=1.5, mode="nearest-exact"), [(1, 2, 4, 4)]),
    ("Upsample", (), dict(scale_factor=3, mode="linear"), [(2, 2, 4)]),
    ("GLU", (), {}, [(3, 8)]),
    ("Softmax2d", (), {}, [(2, 3, 4, 4)]),
    ("RNN", (4, 5), dict(num_layers=2, nonlinearity="relu"), [(6, 3, 4)]),
    ("RNN", (4, 5), dict(batch_first=True, bidirectional=True), [(3, 6, 4)]),
    ("LSTM", (4, 5), dict(num_layers=2), [(6, 3, 4)]),
    ("LSTM", (4, 5), dict(batch_first=True, bidirectional=True, num_layers=2), [(3, 6, 4)]),
    ("LSTM", (4, 5), dict(proj_size=3), [(6, 3, 4)]),
    ("LSTM", (4, 5), {}, [(6, 4)]),
    ("GRU", (4, 5), dict(num_layers=2, bias=False), [(6, 3, 4)]),
    ("GRU", (4, 5), dict(batch_first=True, bidirectional=True), [(3, 6, 4)]),
    ("RNNCell", (4, 5), dict(nonlinearity="tanh"), [(3, 4)]),
    ("LSTMCell", (4, 5), {}, [(3, 4)]),
    ("GRUCell", (4, 5), {}, [(3, 4)]),
    ("MultiheadAttention", (8, 2), dict(batch_first=True), [(3, 5, 8), (3, 4, 8), (3, 4, 8)]),
    ("MultiheadAttention", (8, 4), dict(bias=False), [(5, 3, 8), (4, 3, 8), (4, 3, 8)]),
    ("MultiheadAttention", (8, 2), dict(kdim=6, vdim=5), [(5, 3, 8), (4, 3, 6), (4, 3, 5)]),
    ("TransformerEncoderLayer", (8, 2, 16), dict(dropout=0.0, batch_first=True), [(3, 5, 8)]),
    ("TransformerEncoderLayer", (8, 2, 16), dict(dropout=0.0, norm_first=True, activation="gelu"), [(5, 3, 8)]),
    ("TransformerDecoderLayer", (8, 2, 16), dict(dropout=0.0, batch_first=True), [(3, 4, 8), (3, 5, 8)]),
    ("Transformer", (), dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=12,
                             dropout=0.0), [(5, 2, 8), (4, 2, 8)]),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_layer_matches_torch(case):
    name, args, kwargs, shapes = CASES[case]
    compare_layer(name, args, kwargs, shapes, seed=case)


@pytest.mark.parametrize("train", [True, False])
def test_norm_layers_in_eval_mode_use_running_statistics_as_torch(train):
    for name, args, kwargs, shapes in [("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True),
                                        [(2, 3, 5, 6)]), ("BatchNorm1d", (4,), dict(momentum=None), [(5, 4)])]:
        compare_layer(name, args, kwargs, shapes, train=train)


def test_multihead_attention_masks_and_weights_match_torch():
    rng = np.random.default_rng(3)
    mask = rng.random((5, 4)) < 0.3
    mask[:, 0] = False
    padding = np.zeros((3, 4), bool)
    padding[1, 2:] = True
    for average in (True, False):
        compare_layer("MultiheadAttention", (8, 2), dict(batch_first=True), [(3, 5, 8), (3, 4, 8), (3, 4, 8)],
                      extra={"torch": dict(attn_mask=torch.tensor(mask), key_padding_mask=torch.tensor(padding),
                                           average_attn_weights=average),
                             "nnci": dict(attn_mask=nnci.tensor(mask), key_padding_mask=nnci.tensor(padding),
                                          average_attn_weights=average)})


def test_transformer_encoder_with_causal_mask_matches_torch():
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    causal_ours = nnci.nn.Transformer.generate_square_subsequent_mask(5, dtype=nnci.float64)
    np.testing.assert_array_equal(causal_ours.numpy(), causal.numpy())
    compare_layer("TransformerEncoderLayer", (8, 2, 16), dict(dropout=0.0, batch_first=True), [(2, 5, 8)],
                  extra={"torch": dict(src_mask=causal), "nnci": dict(src_mask=causal_ours)})


@pytest.mark.parametrize("kwargs", [dict(), dict(padding_idx=1), dict(max_norm=None, scale_grad_by_freq=False)])
def test_embedding_matches_torch(kwargs):
    compare_layer("Embedding", (7, 3), kwargs, [(4, 5)], integer_input=7)


def test_max_unpool2d_inverts_max_pool2d_as_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    outs = []
    for lib in (torch, nnci):
        t = lib.tensor(x, requires_grad=True)
        pooled, indices = lib.nn.MaxPool2d(2, return_indices=True)(t)
        restored = lib.nn.MaxUnpool2d(2)(pooled, indices)
        (restored * lib.tensor(np.arange(restored.numel(), dtype=np.float64).reshape(restored.shape))).sum().backward()
        outs.append((restored.detach().numpy(), indices.numpy(), t.grad.numpy()))
    for ours, theirs in zip(outs[1], outs[0]):
        np.testing.assert_allclose(ours, theirs, **TOL)


def test_losses_added_as_modules_match_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5))
    target = rng.integers(0, 5, 4)
    multilabel = np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [4, 2, 1, 0, -1], [0, 1, 2, 3, 4]])
    for name, kw, y in (("MultiMarginLoss", {}, target), ("MultiMarginLoss", dict(p=2, margin=0.5), target),
                        ("MultiLabelMarginLoss", {}, multilabel)):
        results = []
        for lib in (torch, nnci):
            t = lib.tensor(x, requires_grad=True)
            loss = getattr(lib.nn, name)(**kw)(t, lib.tensor(y))
            loss.backward()
            results.append((loss.item(), t.grad.numpy()))
        assert results[1][0] == pytest.approx(results[0][0], rel=1e-10)
        np.testing.assert_allclose(results[1][1], results[0][1], **TOL)


@pytest.mark.parametrize("mode,kwargs", [("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", {}),
                                         ("RNN", dict(bidirectional=True)), ("LSTM", dict(proj_size=2)),
                                         ("GRU", dict(num_layers=2, batch_first=True))])
@pytest.mark.parametrize("enforce_sorted", [False, True])
def test_packed_sequences_through_recurrent_layers_match_torch(mode, kwargs, enforce_sorted):
    rng = np.random.default_rng(len(mode))
    lengths = [6, 4, 3, 1] if enforce_sorted else [3, 6, 1, 4]
    batch_first = kwargs.get("batch_first", False)
    x = rng.standard_normal((4, 6, 3) if batch_first else (6, 4, 3))
    h0 = rng.standard_normal(((2 if kwargs.get("bidirectional") else 1) * kwargs.get("num_layers", 1), 4,
                              kwargs.get("proj_size") or 5))
    results = []
    torch.manual_seed(0)
    reference = getattr(torch.nn, mode)(3, 5, **kwargs).double()
    for lib in (torch, nnci):
        model = reference
        if lib is nnci:
            model = getattr(nnci.nn, mode)(3, 5, **kwargs).to(nnci.float64)
            model.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
        xt = lib.tensor(x, requires_grad=True)
        packed = lib.nn.utils.rnn.pack_padded_sequence(xt, lib.tensor(lengths), batch_first=batch_first,
                                                       enforce_sorted=enforce_sorted)
        state = lib.tensor(h0) if mode != "LSTM" else None
        out, h = model(packed, state)
        padded, lens = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first, total_length=7)
        last = h[0] if isinstance(h, tuple) else h
        (padded.sum() * 2 + (last ** 2).sum()).backward()
        results.append([padded.detach().numpy(), lens.numpy(), last.detach().numpy(), xt.grad.numpy(),
                        packed.batch_sizes.numpy(), packed.data.detach().numpy()])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, **TOL)


def test_pack_sequence_round_trip_and_errors_as_torch():
    seqs = [np.arange(n, dtype=np.float64) for n in (4, 2, 3)]
    for lib in (torch, nnci):
        rnn = lib.nn.utils.rnn
        packed = rnn.pack_sequence([lib.tensor(s) for s in seqs], enforce_sorted=False)
        assert packed.batch_sizes.tolist() == [3, 3, 2, 1]
        assert [t.tolist() for t in rnn.unpack_sequence(packed)] == [s.tolist() for s in seqs]
        with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
            rnn.pack_sequence([lib.tensor(s) for s in seqs])

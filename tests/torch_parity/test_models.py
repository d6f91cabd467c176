"""Each nnci model against the same architecture written in torch: keys, shapes, outputs and gradients."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import nnci
import nnci.models as M


# ----- the twins, written directly in torch ------------------------------------------------------
class TorchDnCNN(tnn.Module):
    def __init__(self, channels=1, depth=17, width=64, batch_norm=True, residual=True):
        super().__init__()
        layers = [tnn.Conv2d(channels, width, 3, padding=1), tnn.ReLU()]
        for _ in range(depth - 2):
            layers += [tnn.Conv2d(width, width, 3, padding=1, bias=not batch_norm)]
            layers += [tnn.BatchNorm2d(width)] if batch_norm else []
            layers += [tnn.ReLU()]
        layers.append(tnn.Conv2d(width, channels, 3, padding=1, bias=False))
        self.layers, self.residual = tnn.Sequential(*layers), residual

    def forward(self, x):
        return x - self.layers(x) if self.residual else self.layers(x)


def torch_vgg(config, in_channels, classes, hidden=256):
    features, c = [], in_channels
    for item in config:
        if item == "M":
            features.append(tnn.MaxPool2d(2, 2))
        else:
            features += [tnn.Conv2d(c, item, 3, padding=1, bias=False), tnn.BatchNorm2d(item), tnn.ReLU()]
            c = item
    model = tnn.Module()
    model.features = tnn.Sequential(*features)
    model.avgpool = tnn.AdaptiveAvgPool2d(1)
    model.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(c, hidden), tnn.ReLU(), tnn.Dropout(0.0),
                                      tnn.Linear(hidden, classes))
    model.forward = lambda x: model.classifier(model.avgpool(model.features(x)))
    return model


class TorchZeroPad(tnn.Module):
    def __init__(self, extra, stride):
        super().__init__()
        self.extra, self.stride = extra, stride

    def forward(self, x):
        return TF.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, 0, self.extra))


def torch_shortcut(cin, cout, stride, kind):
    if stride == 1 and cin == cout:
        return None
    if kind == "projection":
        return tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride=stride, bias=False), tnn.BatchNorm2d(cout))
    return TorchZeroPad(cout - cin, stride)


class TorchBasic(tnn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, kind):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = torch_shortcut(cin, planes, stride, kind)

    def forward(self, x):
        out = self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x)))))
        return TF.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, kind):
        super().__init__()
        self.conv1, self.bn1 = tnn.Conv2d(cin, planes, 1, bias=False), tnn.BatchNorm2d(planes)
        self.conv2, self.bn2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False), tnn.BatchNorm2d(planes)
        self.conv3, self.bn3 = tnn.Conv2d(planes, planes * 4, 1, bias=False), tnn.BatchNorm2d(planes * 4)
        self.downsample = torch_shortcut(cin, planes * 4, stride, kind)

    def forward(self, x):
        out = TF.relu(self.bn1(self.conv1(x)))
        out = TF.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return TF.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchResNet(tnn.Module):
    def __init__(self, block, layers, width, kind, classes=10):
        super().__init__()
        self.conv1, self.bn1 = tnn.Conv2d(3, width, 3, padding=1, bias=False), tnn.BatchNorm2d(width)
        c = width
        self.stages = len(layers)
        for i, n in enumerate(layers):
            blocks = []
            for b in range(n):
                blocks.append(block(c, width * 2 ** i, 2 if i > 0 and b == 0 else 1, kind))
                c = width * 2 ** i * block.expansion
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
        self.avgpool, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Linear(c, classes)

    def forward(self, x):
        x = TF.relu(self.bn1(self.conv1(x)))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


def torch_encoder(cin, widths, bn):
    layers = []
    for w in widths:
        layers += [tnn.Conv2d(cin, w, 3, padding=1, bias=not bn)] + ([tnn.BatchNorm2d(w)] if bn else [])
        layers += [tnn.ReLU(), tnn.MaxPool2d(2)]
        cin = w
    return tnn.Sequential(*layers)


def torch_decoder(cout, widths, up, bn):
    layers, widths = [], list(widths)[::-1]
    for i, w in enumerate(widths):
        nxt = widths[i + 1] if i + 1 < len(widths) else widths[-1]
        if up == "transpose":
            layers.append(tnn.ConvTranspose2d(w, nxt, 2, stride=2, bias=not bn))
        else:
            layers += [tnn.Upsample(scale_factor=2, mode=up), tnn.Conv2d(w, nxt, 3, padding=1, bias=not bn)]
        layers += ([tnn.BatchNorm2d(nxt)] if bn else []) + [tnn.ReLU()]
    layers.append(tnn.Conv2d(widths[-1], cout, 3, padding=1))
    return tnn.Sequential(*layers)


class TorchAE(tnn.Module):
    def __init__(self, cin, size, widths, latent, up, bn, latent_channels=None):
        super().__init__()
        s = size // 2 ** len(widths)
        self.code, self.spatial = (widths[-1], s, s), latent_channels is not None
        self.encoder = torch_encoder(cin, widths, bn)
        if self.spatial:
            self.to_latent = tnn.Conv2d(widths[-1], latent_channels, 1)
            self.from_latent = tnn.Conv2d(latent_channels, widths[-1], 1)
        else:
            self.to_latent = tnn.Linear(widths[-1] * s * s, latent)
            self.from_latent = tnn.Linear(latent, widths[-1] * s * s)
        self.decoder = torch_decoder(cin, widths, up, bn)

    def forward(self, x):
        h = self.encoder(x)
        z = self.to_latent(h if self.spatial else h.flatten(1))
        h = TF.relu(self.from_latent(z))
        return torch.sigmoid(self.decoder(h if self.spatial else h.reshape((-1,) + self.code)))


class TorchVAE(tnn.Module):
    def __init__(self, cin, size, widths, latent, up):
        super().__init__()
        s = size // 2 ** len(widths)
        self.code = (widths[-1], s, s)
        self.encoder = torch_encoder(cin, widths, False)
        self.fc_mu, self.fc_logvar = tnn.Linear(widths[-1] * s * s, latent), tnn.Linear(widths[-1] * s * s, latent)
        self.from_latent = tnn.Linear(latent, widths[-1] * s * s)
        self.decoder = torch_decoder(cin, widths, up, False)

    def forward(self, x):  # eval mode: z = mu
        h = self.encoder(x).flatten(1)
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        logits = self.decoder(TF.relu(self.from_latent(mu)).reshape((-1,) + self.code))
        rec = TF.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum()
        return logits, (rec + kl) / x.shape[0]


def torch_double_conv(cin, cout):
    return tnn.Sequential(tnn.Conv2d(cin, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU(),
                          tnn.Conv2d(cout, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU())


class TorchUNet(tnn.Module):
    def __init__(self, cin, cout, depth, base, up):
        super().__init__()
        widths = [base * 2 ** i for i in range(depth)]
        self.downs = tnn.ModuleList([torch_double_conv(c, w) for c, w in zip([cin] + widths[:-1], widths)])
        self.pool = tnn.MaxPool2d(2)
        if up == "transpose":
            self.ups = tnn.ModuleList([tnn.ConvTranspose2d(w, w // 2, 2, stride=2) for w in widths[:0:-1]])
        else:
            self.ups = tnn.ModuleList([tnn.Sequential(tnn.Upsample(scale_factor=2, mode="bilinear"),
                                                      tnn.Conv2d(w, w // 2, 1)) for w in widths[:0:-1]])
        self.merges = tnn.ModuleList([torch_double_conv(w, w // 2) for w in widths[:0:-1]])
        self.head = tnn.Conv2d(widths[0], cout, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.downs):
            x = block(x)
            if i < len(self.downs) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, merge in zip(self.ups, self.merges):
            skip = skips.pop()
            x = up(x)
            dh, dw = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
            x = TF.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
            x = merge(torch.cat([skip, x], 1))
        return self.head(x)


# ----- the comparisons ------------------------------------------------------------------------------
CASES = {
    "dncnn17": (lambda: M.DnCNN(), lambda: TorchDnCNN(), (2, 1, 12, 12)),
    "dncnn_plain_direct": (lambda: M.DnCNN(3, depth=5, width=16, batch_norm=False, residual=False),
                           lambda: TorchDnCNN(3, 5, 16, False, False), (2, 3, 9, 11)),
    "vgg": (lambda: M.VGG([8, "M", 16, 16, "M"], in_channels=3, num_classes=5, hidden=32),
            lambda: torch_vgg([8, "M", 16, 16, "M"], 3, 5, hidden=32), (3, 3, 12, 10)),
    "resnet_basic_projection": (lambda: M.ResNet(M.BasicBlock, (1, 2), width=8),
                                lambda: TorchResNet(TorchBasic, (1, 2), 8, "projection"), (2, 3, 8, 8)),
    "resnet_basic_zeros": (lambda: M.ResNet(M.BasicBlock, (2, 1, 1), width=4, shortcut="zeros"),
                           lambda: TorchResNet(TorchBasic, (2, 1, 1), 4, "zeros"), (2, 3, 12, 12)),
    "resnet_bottleneck": (lambda: M.ResNet(M.Bottleneck, (1, 1), width=4),
                          lambda: TorchResNet(TorchBottleneck, (1, 1), 4, "projection"), (2, 3, 8, 8)),
    "autoencoder_transpose": (lambda: M.ConvAutoencoder(1, 16, (8, 16), 6, "transpose", batch_norm=True),
                              lambda: TorchAE(1, 16, (8, 16), 6, "transpose", True), (3, 1, 16, 16)),
    "autoencoder_bilinear": (lambda: M.ConvAutoencoder(2, 8, (4,), 3, "bilinear"),
                             lambda: TorchAE(2, 8, (4,), 3, "bilinear", False), (2, 2, 8, 8)),
    "autoencoder_spatial": (lambda: M.ConvAutoencoder(1, 16, (4, 8), upsampling="transpose", batch_norm=True,
                                                      latent_channels=3),
                            lambda: TorchAE(1, 16, (4, 8), None, "transpose", True, latent_channels=3), (2, 1, 16, 16)),
    "unet_transpose_odd": (lambda: M.UNet(2, 3, depth=3, base_width=4),
                           lambda: TorchUNet(2, 3, 3, 4, "transpose"), (1, 2, 13, 10)),
    "unet_bilinear": (lambda: M.UNet(1, 1, depth=4, base_width=4, upsampling="bilinear"),
                      lambda: TorchUNet(1, 1, 4, 4, "bilinear"), (2, 1, 16, 16)),
}


def transfer(theirs, ours):
    sd_theirs, sd_ours = theirs.state_dict(), ours.state_dict()
    assert list(sd_ours) == list(sd_theirs)
    assert all(sd_ours[k].shape == tuple(v.shape) for k, v in sd_theirs.items())
    ours.load_state_dict({k: v.detach().numpy() for k, v in sd_theirs.items()})


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name", sorted(CASES))
def test_model_matches_torch_twin(name, train):
    make_ours, make_theirs, shape = CASES[name]
    torch.manual_seed(0)
    theirs, ours = make_theirs().double(), make_ours().double()
    transfer(theirs, ours)
    theirs.train(train)
    ours.train(train)
    x = np.random.default_rng(1).standard_normal(shape)
    out_theirs = theirs(torch.tensor(x))
    out_ours = ours(nnci.tensor(x))
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-9, atol=1e-10)
    upstream = np.random.default_rng(2).standard_normal(out_ours.shape)
    (out_theirs * torch.tensor(upstream)).sum().backward()
    (out_ours * nnci.tensor(upstream)).sum().backward()
    grads = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[key].grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=key)


def test_vae_loss_and_gradients_match_torch_twin():
    torch.manual_seed(0)
    theirs, ours = TorchVAE(1, 8, (4, 8), 3, "transpose").double(), M.VAE(1, 8, (4, 8), 3, "transpose").double()
    transfer(theirs, ours)
    ours.eval()
    x = np.random.default_rng(3).random((4, 1, 8, 8))
    logits_theirs, loss_theirs = theirs(torch.tensor(x))
    logits, mu, logvar = ours(nnci.tensor(x))
    loss = ours.loss(nnci.tensor(x), logits, mu, logvar)
    np.testing.assert_allclose(logits.detach().numpy(), logits_theirs.detach().numpy(), rtol=1e-9)
    assert loss.item() == pytest.approx(loss_theirs.item(), rel=1e-10)
    loss.backward()
    loss_theirs.backward()
    grads = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[key].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=key)


def test_vae_reparameterisation_is_seeded_and_has_the_right_moments():
    vae = M.VAE(1, 8, (4, 8), 3)
    mu = nnci.tensor(np.full((20000, 3), 0.5, np.float32))
    logvar = nnci.tensor(np.full((20000, 3), np.log(4.0), np.float32))
    nnci.manual_seed(7)
    z = vae.reparameterize(mu, logvar).detach().numpy()
    assert abs(z.mean() - 0.5) < 0.03 and abs(z.std() - 2.0) < 0.03
    nnci.manual_seed(7)
    np.testing.assert_array_equal(vae.reparameterize(mu, logvar).detach().numpy(), z)
    assert vae.sample(5).shape == (5, 1, 8, 8)


def test_dncnn17_parameter_count_and_bad_configs():
    assert M.DnCNN().num_parameters() == 556_096
    with pytest.raises(ValueError, match="residual learning needs"):
        M.DnCNN(in_channels=1, out_channels=3)
    with pytest.raises(ValueError, match="divisible"):
        M.ConvAutoencoder(1, 10, (8, 16))
    with pytest.raises(ValueError, match="shortcut must be"):
        M.ResNet(layers=(1, 1), shortcut="identity")

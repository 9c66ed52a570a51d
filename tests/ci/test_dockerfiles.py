"""Policy checks over Dockerfile.api and Dockerfile.ingest (hadolint does the lint).

Each image is a release build of one binary on a digest-pinned Rust image, run on
digest-pinned distroless as nonroot, with the schema files at /schemas.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGES = {"Dockerfile.api": "data-api", "Dockerfile.ingest": "ingest"}


def stages(text: str) -> list[str]:
    """The Dockerfile split at each FROM, ARGs resolved into the FROM lines."""
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.M))
    resolved = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)
    return re.split(r"^(?=FROM )", resolved, flags=re.M)[1:]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_base_image_is_pinned_by_digest(name: str):
    for stage in stages((REPO / name).read_text()):
        image = stage.split()[1]
        if image in ("chef", "planner", "builder"):
            continue
        assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{name}: {image} not pinned"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_release_build_of_the_one_binary(name: str):
    text = (REPO / name).read_text()
    binary = IMAGES[name]
    assert f"cargo build --release --locked -p {binary} --bin {binary}" in text
    assert "cargo chef cook --release" in text, "dependency layer is cached"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_runtime_is_distroless_nonroot_with_the_schemas(name: str):
    final = stages((REPO / name).read_text())[-1]
    assert final.startswith("FROM gcr.io/distroless/cc-debian12:nonroot@sha256:")
    assert re.search(r"^USER nonroot$", final, flags=re.M)
    assert re.search(r"^COPY schemas/ /schemas/$", final, flags=re.M)
    assert re.search(r"^ENTRYPOINT \[\"/usr/local/bin/" + IMAGES[name] + r"\"\]$", final,
                     flags=re.M)
    assert "RUN " not in final, "the runtime stage has no shell to run anything"


def test_dockerignore_keeps_state_out_of_the_context():
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", "target", "terraform", "**/*.tfstate"):
        assert entry in ignored

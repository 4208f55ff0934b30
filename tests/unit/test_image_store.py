"""The store in-process (as root, no user namespace): records, lookup, tags, gc, import, --change."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from podctl.config import Config
from podctl.errors import InvalidSpec, NotFound
from podctl.image.archive import ImportOptions, apply_changes, import_tarball
from podctl.image.oci_layout import Layer
from podctl.image.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    conf = tmp_path / "registries.conf"
    conf.write_text('unqualified-search-registries = ["quay.io"]\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    return open_store(Config(root=tmp_path / "root", runroot=tmp_path / "run", runtime=None, log_level="warn"))


def imported(store: Store, files: dict[str, str], name: str = "") -> str:
    layer = Layer()
    for k, v in files.items():
        layer.file(k, v)
    return import_tarball(store, io.BytesIO(layer.tar_bytes()), ImportOptions(reference=name))


def test_lookup_by_name_short_name_id_and_prefix(store: Store) -> None:
    a = imported(store, {"a": "1"}, "quay.io/team/app:v1")
    b = imported(store, {"b": "2"}, "mine")
    assert store.lookup("quay.io/team/app:v1") == a
    assert store.lookup("team/app:v1") == a  # a search registry
    assert store.lookup("app:v1") == a  # the trailing components of a stored name
    assert store.lookup("mine") == b and store.lookup("localhost/mine:latest") == b
    assert store.lookup(a) == a and store.lookup(f"sha256:{a}") == a
    prefix = next(i for i in range(3, 64) if a[:i] != b[:i])
    assert store.lookup(a[: prefix + 1]) == a
    for missing in ("app:v2", "nope", "0" * 64):
        with pytest.raises(NotFound):
            store.lookup(missing)
    rec = store.resolve("mine")
    assert rec.names == ("localhost/mine:latest",) and len(rec.layer_dirs) == 1
    assert (rec.layer_dirs[0] / "b").read_text() == "2"


def test_tags_move_and_untag(store: Store) -> None:
    a = imported(store, {"a": "1"}, "x")
    b = imported(store, {"b": "1"})
    store.tag(b, ["localhost/x:latest"])  # a name moves to the image it is given to
    assert store.info(a).names == () and store.info(b).names == ("localhost/x:latest",)
    assert store.untag(b) == ["localhost/x:latest"]
    with pytest.raises(NotFound):
        store.untag(b, ["localhost/y:latest"])


def test_shared_layers_and_gc(store: Store) -> None:
    a = imported(store, {"same": "content"}, "one")
    b = imported(store, {"same": "content"}, "two")
    assert store.info(a).layers == store.info(b).layers
    c = imported(store, {"other": "x"}, "three")
    layers = {p.name for p in store.layers.iterdir()}
    assert len(layers) == 2
    store.delete(c)
    assert len(list(store.layers.iterdir())) == 1
    if a != b:  # imported in different seconds: two configs sharing one layer
        store.delete(a)
        assert len(list(store.layers.iterdir())) == 1
    store.delete(b)
    assert list(store.layers.iterdir()) == [] and list(store.blobs.iterdir()) == []


def test_apply_changes() -> None:
    cfg: dict = {}
    apply_changes(cfg, ['CMD ["a", "b"]', "ENTRYPOINT=/bin/run x", "ENV A=1 B='two words'", "ENV C 3",
                        "LABEL k=v", "EXPOSE 80 53/udp", "VOLUME /data", "USER app", "WORKDIR /srv",
                        "STOPSIGNAL SIGINT", "ENV A=9"])  # fmt: skip
    assert cfg["Cmd"] == ["a", "b"] and cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/run x"]
    assert cfg["Env"] == ["B=two words", "C=3", "A=9"]
    assert cfg["Labels"] == {"k": "v"} and cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Volumes"] == {"/data": {}} and cfg["User"] == "app" and cfg["WorkingDir"] == "/srv"
    assert cfg["StopSignal"] == "SIGINT"
    for bad in ("RUN x", "CMD [broken", "ENV", "LABEL novalue"):
        with pytest.raises(InvalidSpec):
            apply_changes({}, [bad])

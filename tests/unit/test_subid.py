import os
import pwd
from pathlib import Path

from podctl.rootless import subid


def test_ranges_by_name_and_uid(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    f = tmp_path / "subuid"
    f.write_text(f"# comment\nother:1:2\n{me}:100000:65536\n{os.getuid()}:300000:10\nbroken\n")
    rngs = subid.ranges(f)
    assert rngs == [subid.IdRange(100000, 65536), subid.IdRange(300000, 10)]
    assert subid.total(rngs) == 65546
    assert subid.mapping_args(1000, rngs) == [
        "0", "1000", "1", "1", "100000", "65536", "65537", "300000", "10",
    ]  # fmt: skip


def test_missing_file(tmp_path: Path) -> None:
    assert subid.ranges(tmp_path / "nope") == []

"""The unit file parser/writer: byte-exact round trips, systemd's lookup rules, editing, escaping."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from podctl.errors import InvalidSpec
from podctl.systemd import unitfile
from podctl.systemd.unitfile import UnitFile, escape_exec_arg, format_command, split_exec

GOLDEN = Path(__file__).parent / "golden" / "systemd"

TRICKY = (
    "# leading comment\n"
    "; another style\n"
    "\n"
    "[Unit]\n"
    "Description = spaced   out  \n"
    "After=a.service\n"
    "After=b.service c.service\n"
    "\n"
    "  # indented comment\n"
    "[Service]\n"
    "ExecStart=/bin/sh \\\n"
    "\t-c \\\n"
    "# a comment inside a continuation is skipped\n"
    "    'echo hi'\n"
    "Environment=A=1\n"
    "Environment=\n"
    'Environment=B=2 "C=3 4"\n'
    "[Unit]\n"
    "Wants=x.target\n"
    "\n"
    "[X-Empty]\n"
    "Last=no newline at end"
)


@pytest.mark.parametrize(
    "text",
    [TRICKY, "", "\n\n", "# only a comment", "[A]\r\nK=V\r\n", "[A]\nK=V \\\n"],
    ids=["tricky", "empty", "blank", "comment", "crlf", "dangling-continuation"],
)
def test_round_trip_is_byte_exact(text: str) -> None:
    assert UnitFile.parse(text).to_text() == text


def test_round_trip_golden_units() -> None:
    files = sorted(GOLDEN.glob("*.service"))
    assert len(files) >= 5
    for f in files:
        text = f.read_text()
        assert UnitFile.parse(text).to_text() == text, f.name


def test_lookups_follow_systemd() -> None:
    u = UnitFile.parse(TRICKY)
    assert u.sections() == ["Unit", "Service", "X-Empty"]
    assert u.lookup("Unit", "Description") == "spaced   out"
    assert u.lookup("Unit", "After") == "b.service c.service"  # last wins
    assert u.lookup_all("Unit", "After") == ["a.service", "b.service c.service"]
    assert u.lookup_strv("Unit", "After") == ["a.service", "b.service", "c.service"]
    assert u.lookup("Unit", "Wants") == "x.target"  # a repeated section reads as one
    assert u.lookup_all("Service", "Environment") == ['B=2 "C=3 4"']  # empty resets
    assert u.lookup_args("Service", "ExecStart") == ["/bin/sh", "-c", "echo hi"]
    assert u.lookup("X-Empty", "Last") == "no newline at end"
    assert u.lookup("Unit", "Missing") is None and u.lookup("Nope", "After") is None
    assert u.keys("Unit") == ["Description", "After", "Wants"]


def test_bool_lookup() -> None:
    u = UnitFile.parse("[S]\nA=yes\nB=off\nC=maybe\n")
    assert u.lookup_bool("S", "A") is True and u.lookup_bool("S", "B") is False
    assert u.lookup_bool("S", "Z", default=True) is True
    with pytest.raises(InvalidSpec):
        u.lookup_bool("S", "C")


def test_set_replaces_last_and_keeps_everything_else() -> None:
    u = UnitFile.parse(TRICKY)
    u.set("Unit", "After", "z.service")
    text = u.to_text()
    assert "After=a.service\nAfter=z.service\n" in text
    assert text.replace("After=z.service", "After=b.service c.service") == TRICKY


def test_add_goes_to_the_end_of_the_section() -> None:
    u = UnitFile.parse("# c\n[Unit]\nA=1\n\n[Service]\nB=2\n")
    u.add("Unit", "A", "3")
    u.add("Service", "C", "4")
    u.add("Install", "WantedBy", "default.target")
    assert u.to_text() == (
        "# c\n[Unit]\nA=1\nA=3\n\n[Service]\nB=2\nC=4\n\n[Install]\nWantedBy=default.target\n"
    )
    assert u.lookup_all("Unit", "A") == ["1", "3"]


def test_add_after_a_file_without_final_newline() -> None:
    u = UnitFile.parse("[Unit]\nA=1")
    u.add("Unit", "B", "2")
    u.add("New", "C", "3")
    assert u.to_text() == "[Unit]\nA=1\nB=2\n\n[New]\nC=3\n"


def test_unset_removes_every_occurrence() -> None:
    u = UnitFile.parse(TRICKY)
    assert u.unset("Service", "Environment") == 3
    assert u.lookup("Service", "Environment") is None
    assert "Environment" not in u.to_text()
    assert u.unset("Service", "Environment") == 0


def test_set_args_wraps_like_podman() -> None:
    u = UnitFile.parse("[Service]\n")
    u.set_args(
        "Service", "ExecStop", ["/usr/bin/podctl", "stop", "--ignore", "-t", "10", "x y"], wrap=True
    )
    assert (
        u.to_text() == '[Service]\nExecStop=/usr/bin/podctl stop \\\n\t--ignore \\\n\t-t 10 "x y"\n'
    )
    assert u.lookup_args("Service", "ExecStop") == [
        "/usr/bin/podctl",
        "stop",
        "--ignore",
        "-t",
        "10",
        "x y",
    ]
    again = UnitFile.parse(u.to_text())
    assert again.to_text() == u.to_text()


def test_bad_input_names_the_line() -> None:
    with pytest.raises(InvalidSpec, match="line 2"):
        UnitFile.parse("[Unit]\nnot a key value\n", Path("x.service"))
    with pytest.raises(InvalidSpec, match="before any"):
        UnitFile.parse("A=1\n")
    u = UnitFile.parse("[Unit]\n")
    with pytest.raises(InvalidSpec):
        u.set("Unit", "Bad=Key", "v")
    with pytest.raises(InvalidSpec, match="newline"):
        u.set("Unit", "K", "two\nlines")
    with pytest.raises(InvalidSpec):
        u.add("Bad]", "K", "v")


def test_dropins_apply_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "web-app.service").write_text("[Service]\nRestart=no\nEnvironment=A=1\n")
    (tmp_path / "web-app.service.d").mkdir()
    (tmp_path / "web-app.service.d" / "20-b.conf").write_text("[Service]\nRestart=always\n")
    (tmp_path / "web-app.service.d" / "10-a.conf").write_text(
        "[Service]\nRestart=on-failure\nEnvironment=\n"
    )
    (tmp_path / "web-.service.d").mkdir()
    (tmp_path / "web-.service.d" / "05-prefix.conf").write_text("[Unit]\nDescription=prefix\n")
    (tmp_path / "service.d").mkdir()
    (tmp_path / "service.d" / "00-all.conf").write_text("[Service]\nEnvironment=ALL=1\n")
    u = unitfile.load(tmp_path / "web-app.service")
    assert [f.path.name for f in u.dropins if f.path] == [
        "00-all.conf",
        "05-prefix.conf",
        "10-a.conf",
        "20-b.conf",
    ]
    assert u.lookup("Service", "Restart") == "always"
    assert u.lookup("Unit", "Description") == "prefix"
    assert u.lookup_all("Service", "Environment") == []  # 10-a.conf resets the list after ALL=1
    assert u.main.to_text() == "[Service]\nRestart=no\nEnvironment=A=1\n"


def test_dropin_dirs_for_templates() -> None:
    dirs = [p.name for p in unitfile.dropin_dirs(Path("/u/foo-bar@inst.service"))]
    assert dirs == ["service.d", "foo-.service.d", "foo-bar@.service.d", "foo-bar@inst.service.d"]


def test_write_is_atomic_and_exact(tmp_path: Path) -> None:
    u = UnitFile.parse(TRICKY)
    path = u.write(tmp_path / "sub" / "x.service")
    assert path.read_text() == TRICKY
    assert [p.name for p in path.parent.iterdir()] == ["x.service"]


# -- escaping --------------------------------------------------------------------------------


def test_escape_matches_podman() -> None:
    # podman 4.3.1's generate systemd output for this create command (see golden/systemd).
    argv = ["sh", "-c", 'echo "$HOME" 100% \\done; x=`id`']
    assert format_command(argv) == 'sh -c "echo \\"$$HOME\\" 100%% \\\\done; x=`id`"'
    assert escape_exec_arg("a=b c") == '"a=b c"'
    assert escape_exec_arg("back\\slash") == "back\\\\slash"
    assert escape_exec_arg("%t/x") == "%%t/x"
    assert escape_exec_arg("") == '""'
    assert unitfile.escape_specifiers("100%") == "100%%"
    assert unitfile.unescape_specifiers("100%%") == "100%"


def test_escape_split_round_trip_random() -> None:
    rng = random.Random(7)
    alphabet = "ab -_=$%\\\"'`;\t/.:é"
    for _ in range(500):
        argv = ["/bin/x"] + [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 5))
        ]
        for wrap in (False, True):
            line = format_command(argv, wrap=wrap)
            parsed = UnitFile.parse(f"[Service]\nExecStart={line}\n")
            assert parsed.lookup_args("Service", "ExecStart") == argv, (argv, line)


def test_split_exec_prefixes_and_c_escapes() -> None:
    assert split_exec("-/bin/echo a\\x41 \"t\\tb\" 'x y'") == ["/bin/echo", "aA", "t\tb", "x y"]
    with pytest.raises(InvalidSpec):
        split_exec("/bin/echo \\q")


def test_unit_names() -> None:
    assert unitfile.check_unit_name("container-web.service") == "container-web.service"
    assert unitfile.check_unit_name("x@1.service")
    for bad in ("no-suffix", "sp ace.service", "../x.service", ".hidden.service"):
        with pytest.raises(InvalidSpec):
            unitfile.check_unit_name(bad)


def test_environment_lookup() -> None:
    u = UnitFile.parse('[Service]\nEnvironment=A=1 "B=two words"\nEnvironment=A=3 C=\\x41\n')
    assert u.lookup_env("Service") == {"A": "3", "B": "two words", "C": "A"}
    with pytest.raises(InvalidSpec, match="not KEY=VALUE"):
        UnitFile.parse("[Service]\nEnvironment=A=two words\n").lookup_env("Service")

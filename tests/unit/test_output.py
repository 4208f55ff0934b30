from podctl.cli.output import emit, header_for


def test_header_for() -> None:
    assert header_for("CreatedAt") == "CREATED AT"
    assert header_for("ID", {"ID": "CONTAINER ID"}) == "CONTAINER ID"


def test_table_format(capsys) -> None:  # type: ignore[no-untyped-def]
    items = [{"ID": "a1", "Names": "web"}, {"ID": "b22222", "Names": "db"}]
    emit(items, "table {{.ID}}\\t{{.Names}}", headers={"ID": "CONTAINER ID"})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "NAMES"]
    assert lines[1].startswith("a1") and lines[1].endswith("web")
    # columns line up
    assert lines[1].index("web") == lines[2].index("db") == lines[0].index("NAMES")


def test_json_and_template(capsys) -> None:  # type: ignore[no-untyped-def]
    items = [{"Names": "web"}, {"Names": "db"}]
    emit(items, "json")
    assert '"Names": "web"' in capsys.readouterr().out
    emit(items, "{{.Names}}")
    assert capsys.readouterr().out == "web\ndb\n"
    emit(items, "{{json .}}")
    assert capsys.readouterr().out == '{"Names":"web"}\n{"Names":"db"}\n'

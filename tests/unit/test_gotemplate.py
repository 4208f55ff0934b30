import pytest

from podctl.cli.gotemplate import Template, TemplateError, normalize

DATA = {
    "Names": "web",
    "ID": "abc123",
    "Labels": {"app": "x", "tier": "front"},
    "Ports": [{"HostPort": 8080}, {"HostPort": 8443}],
    "host": {"arch": "amd64", "ociRuntime": {"name": "runc"}},
    "Running": True,
}


@pytest.mark.parametrize(
    ("src", "out"),
    [
        ("{{.Names}}", "web"),
        ("{{.Names}} {{.ID}}", "web abc123"),
        ("{{json .Labels}}", '{"app":"x","tier":"front"}'),
        ("{{.Labels.app}}", "x"),
        ("{{index .Labels \"tier\"}}", "front"),
        ("{{range .Ports}}{{.HostPort}},{{end}}", "8080,8443,"),
        ("{{if .Running}}up{{else}}down{{end}}", "up"),
        ("{{.Host.Arch}}/{{.Host.OCIRuntime.Name}}", "amd64/runc"),
        ("{{.Names | upper}}", "WEB"),
        ("{{len .Ports}}", "2"),
        ("{{printf \"%s-%s\" .Names .ID}}", "web-abc123"),
        ("{{- .Names -}}  ", "web"),
        ("{{with .Labels}}{{.app}}{{end}}", "x"),
        ("{{join (split \"a,b\" \",\") \"+\"}}", "a+b"),
    ],
)
def test_render(src: str, out: str) -> None:
    assert Template(src).render(DATA) == out


def test_missing_field_names_it() -> None:
    with pytest.raises(TemplateError, match="Nope"):
        Template("{{.Nope}}").render(DATA)


def test_unbalanced_end() -> None:
    with pytest.raises(TemplateError, match="end"):
        Template("{{if .Running}}x").render(DATA)


def test_unknown_function() -> None:
    with pytest.raises(TemplateError, match="frobnicate"):
        Template("{{frobnicate .Names}}").render(DATA)


def test_normalize_escapes_and_newline() -> None:
    assert normalize("{{.A}}\\t{{.B}}") == "{{.A}}\t{{.B}}\n"

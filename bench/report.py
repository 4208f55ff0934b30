"""Scenario results and the printed / JSON report (pure: no processes, unit-tested)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bench.stats import (
    PODCTL,
    PODMAN,
    Metric,
    delta,
    fmt_ratio,
    fmt_summary,
    fmt_value,
    metric_dict,
    ratio,
    verdict,
)

# ok: measured; unavailable: podctl lacks the command (yet); skipped: a prerequisite of the
# machine is missing (no podman, no systemd user manager); failed: podctl failed while the
# harness and podman worked; error: the harness or podman failed (the bench itself is broken).
STATUSES = ("ok", "unavailable", "skipped", "failed", "error")


@dataclass
class ScenarioResult:
    name: str
    title: str
    status: str = "ok"
    message: str = ""
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def metric(
        self, name: str, unit: str = "s", better: str = "lower", target: Any = None
    ) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        m = Metric(name, unit, better, target)
        self.metrics.append(m)
        return m

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "message": self.message,
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            "metrics": [metric_dict(m, self.metrics) for m in self.metrics],
        }


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


def short(text: str, width: int = 72) -> str:
    """First line of a message, cut to width for the table (the full text is listed below)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def render_header(header: dict[str, Any]) -> str:
    lines = ["podctl bench: podctl against podman, side by side"]
    for key in ("date", "runs", "order"):
        if key in header:
            lines.append(f"  {key}: {header[key]}")
    versions = header.get("versions", {})
    if versions:
        lines.append("  versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for k, v in header.get("settings", {}).items():
        lines.append(f"  {k}: {v}")
    return "\n".join(lines)


def metric_row(title: str, m: Metric, metrics: list[Metric]) -> list[str]:
    r = ratio(m)
    tgt = ""
    if m.target is not None:
        tgt = f"{m.target.text(m.unit)}: {verdict(m, metrics)}"
        d = delta(m, metrics)
        if d is not None:
            tgt += f" (+{fmt_value(d, m.unit)})"
    name = m.name if m.better == "lower" else f"{m.name} (higher is better)"
    return [
        title,
        name,
        fmt_summary(m.summary(PODCTL), m.unit),
        fmt_summary(m.summary(PODMAN), m.unit),
        fmt_ratio(r),
        tgt,
    ]


def render_results(results: list[ScenarioResult]) -> str:
    rows: list[list[str]] = []
    for res in results:
        for i, m in enumerate(res.metrics):
            rows.append(metric_row(res.name if i == 0 else "", m, res.metrics))
        if res.status != "ok":
            rows.append([
                "" if res.metrics else res.name, short(f"{res.status.upper()}: {res.message}"),
                "", "", "", "",
            ])  # fmt: skip
    headers = ["scenario", "metric", "podctl median [min-max]", "podman median [min-max]",
               "podctl/podman", "target"]  # fmt: skip
    out = [table(rows, headers)]
    problems = [r for r in results if r.status in ("failed", "error")]
    if problems:
        out.append("")
        out.append("problems:")
        out.extend(f"  {r.name} ({r.status}): {r.message}" for r in problems)
    notes = [(r.name, n) for r in results for n in r.notes]
    if notes:
        out.append("")
        out.append("notes:")
        out.extend(f"  {name}: {n}" for name, n in notes)
    return "\n".join(out)


def render(header: dict[str, Any], results: list[ScenarioResult]) -> str:
    return render_header(header) + "\n\n" + render_results(results) + "\n" + summary_line(results)


def summary_line(results: list[ScenarioResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    verdicts = [verdict(m, r.metrics) for r in results for m in r.metrics if m.target]
    return (
        "scenarios: "
        + ", ".join(f"{counts[s]} {s}" for s in STATUSES if s in counts)
        + f"; targets: {verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL"
    )


def to_json(header: dict[str, Any], results: list[ScenarioResult]) -> str:
    return json.dumps(
        {"header": header, "scenarios": [r.as_dict() for r in results]}, indent=2, sort_keys=False
    )


def exit_code(results: list[ScenarioResult], strict: bool = False) -> int:
    """1 when the harness broke (error); with strict also when podctl failed."""
    bad = {"error", "failed"} if strict else {"error"}
    return 1 if any(r.status in bad for r in results) else 0

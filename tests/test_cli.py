"""The `cwmp` front door: dispatch by name, and `reproduce` wiring (entry points stubbed)."""

from __future__ import annotations

import json

import cwmp_cli


def test_help_and_unknown_command(capsys):
    assert cwmp_cli.main([]) == 0
    assert "reproduce" in capsys.readouterr().out
    assert cwmp_cli.main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err


def test_every_entry_point_resolves():
    for name, (entry, _) in cwmp_cli.COMMANDS.items():
        assert callable(cwmp_cli._load(entry)), name


def test_reproduce_runs_steps_in_order_and_keeps_committed_results(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_load(entry):
        def run(argv):
            calls.append((entry, list(argv)))
            if entry.startswith("theory"):
                out = tmp_path / "quick" / "theory"
                out.mkdir(parents=True)
                (out / "report.json").write_text(json.dumps(
                    [{"id": "C6", "status": "counterexample_found", "statement": "greedy is optimal"}]))
            return 0
        return run

    monkeypatch.setattr(cwmp_cli, "_load", fake_load)
    assert cwmp_cli.reproduce(["--results", str(tmp_path)]) == 0
    names = [e.split(".")[0] for e, _ in calls]
    assert names == ["theory", "solvers", "fl_validation", "paper_figures"]
    quick = str(tmp_path / "quick")
    assert calls[0][1] == ["--quick", "--results", quick]  # quick checks go beside the full results
    assert calls[1][1] == ["--quick", "--results", quick]
    assert calls[2][1] == ["--preset", "smoke", "--results", str(tmp_path)]
    assert calls[3][1] == ["--results", str(tmp_path)]
    out = capsys.readouterr().out
    assert "C6" in out and "counterexample_found" in out


def test_reproduce_reports_failed_step(tmp_path, monkeypatch):
    monkeypatch.setattr(cwmp_cli, "_load", lambda entry: (lambda argv: 1 if "solvers" in entry else 0))
    assert cwmp_cli.reproduce(["--results", str(tmp_path)]) == 1


def test_claims_table_joins_theory_and_fl_claims(tmp_path):
    """The claims table users see: theory rows, then F1/F1-paper read from the FL sweep's claims.json."""
    import json

    import cwmp_cli

    (tmp_path / "theory").mkdir()
    (tmp_path / "theory" / "report.json").write_text(json.dumps(
        [{"id": "C1", "status": "verified_numeric", "statement": "feasible"}]))
    assert [r["status"] for r in cwmp_cli.claims_table(str(tmp_path), str(tmp_path))] == ["verified_numeric",
                                                                                         "missing"]
    (tmp_path / "fl" / "paper").mkdir(parents=True)
    (tmp_path / "fl" / "paper" / "claims.json").write_text(json.dumps([
        {"id": "F1", "status": "unresolved", "interim_status": "partly_reproduced", "complete": False,
         "statement": "frontier"},
        {"id": "F1-paper", "status": "contradicted", "interim_status": "contradicted", "complete": True,
         "statement": "frontier"}]))
    rows = cwmp_cli.claims_table(str(tmp_path), str(tmp_path))
    assert [(r["id"], r["status"]) for r in rows] == [
        ("C1", "verified_numeric"), ("F1", "unresolved (interim: partly_reproduced)"), ("F1-paper", "contradicted")]

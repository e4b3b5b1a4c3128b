"""``signage alert`` against a local content root, in-process through ``signage.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema

from signage.cli import main

DATA = Path(__file__).parent / "data" / "cap"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "playlists").mkdir()
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["alert", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_raise_list_export_clear(
    root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "raise", "--root", str(root), "--template", "mantenimiento-programado",
        "--set", "sistema=Intranet", "--set", "fecha=sábado 5 de diciembre",
        "--set", "hora_inicio=18:00", "--set", "hora_retorno=22:00",
        "--expires", "3h", "--tags", "lobby,piso-2", "--severity", "moderate",
    )  # fmt: skip
    assert code == 0, err
    alert_id = out.strip()
    stored = json.loads((root / "alerts" / f"{alert_id}.json").read_text(encoding="utf-8"))
    assert stored["severity"] == "Moderate"
    assert stored["tags"] == ["lobby", "piso-2"]
    code, out, _ = run(capsys, "list", "--root", str(root))
    assert code == 0 and alert_id in out and "Mantenimiento programado: Intranet" in out
    assert "lobby,piso-2" in out and "min left" in out
    code, out, _ = run(capsys, "list", "--root", str(root), "--json")
    assert [a["id"] for a in json.loads(out)] == [alert_id]
    target = tmp_path / "out.xml"
    code, out, _ = run(capsys, "export-cap", "--root", str(root), alert_id, "--out", str(target))
    assert code == 0
    xmlschema.XMLSchema(str(DATA / "CAP-v1.2.xsd")).validate(target.read_text(encoding="utf-8"))
    code, out, _ = run(capsys, "clear", "--root", str(root), alert_id)
    assert code == 0 and out.strip() == f"cleared {alert_id}"
    code, out, _ = run(capsys, "list", "--root", str(root))
    assert out.strip() == "no active alerts"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "nada"], "unknown template 'nada'"),
        (["--template", "servicio-restablecido"], "needs 'sistema'"),
        (["--template", "servicio-restablecido", "--set", "sistema"], "write KEY=VALUE"),
        (["--template", "servicio-restablecido", "--set", "sistema=x", "--set", "otra=y"],
         "has no variable 'otra'"),
        (["--template", "servicio-restablecido", "--set", "sistema=x", "--expires", "mañana"],
         "not a duration"),
        (["--template", "servicio-restablecido", "--set", "sistema=x", "--expires",
          "2020-01-01T00:00-05:00"], "in the past"),
        (["--template", "servicio-restablecido", "--set", "sistema=x", "--severity", "huge"],
         "not one of Extreme"),
    ],
)  # fmt: skip
def test_raise_refusals_exit_1_with_a_message(
    root: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "raise", "--root", str(root), *args)
    assert code == 1
    assert message in err
    assert out == ""
    assert not (root / "alerts").exists() or not list((root / "alerts").iterdir())


def test_import_cap_and_its_refusals(
    root: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.xml"
    fresh.write_bytes(
        (DATA / "alerta-es-en.xml").read_bytes().replace(b"2026-11-28T18:00", b"2099-11-28T18:00")
    )
    code, out, err = run(capsys, "import-cap", "--root", str(root), str(fresh))
    assert code == 0, err
    assert out.startswith("raised cap-OAI-2026-0042-")
    code, out, err = run(
        capsys, "import-cap", "--root", str(root), str(DATA / "cancelacion-desconocida.xml")
    )
    assert code == 1 and "never raised here" in err
    code, out, err = run(capsys, "import-cap", "--root", str(root), str(DATA / "xxe.xml"))
    assert code == 1 and "DTD or entities" in err
    code, out, err = run(capsys, "import-cap", "--root", str(root), str(tmp_path / "missing.xml"))
    assert code == 2 and "cannot read it" in err
    code, out, _ = run(capsys, "clear", "--root", str(root), "--all")
    assert out.strip() == "cleared 1 alert"


def test_templates_listing_and_a_root_with_its_own(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "templates")
    assert code == 0
    assert "interrupcion-servicio  (Severe, es, en)" in out
    assert "--set hora_retorno=..." in out
    code, out, _ = run(capsys, "templates", "--json")
    ids = {t["id"] for t in json.loads(out)}
    assert "ciberataque-phishing" in ids
    own = root / "playlists" / "alerts"
    own.mkdir()
    (own / "simulacro-evacuacion.yaml").write_text(
        "name: Simulacro\nseverity: Extreme\nvariables: {piso: {}}\n"
        "texts: {es: {headline: 'Evacúe el piso {piso}'}}\n",
        encoding="utf-8",
    )
    (own / "rota.yaml").write_text(
        "name: Rota\nseverity: Grave\ntexts: {es: {headline: x}}\n", encoding="utf-8"
    )
    code, out, err = run(capsys, "templates", "--root", str(root))
    assert code == 1  # one of the root's templates has an error
    assert "simulacro-evacuacion" in out and "interrupcion-servicio" not in out
    assert "rota.yaml:2:11: 'Grave' is not one of" in err
    code, out, err = run(capsys, "raise", "--root", str(root), "--template", "simulacro-evacuacion",
                         "--set", "piso=3", "--exercise")  # fmt: skip
    assert code == 0, err
    stored = json.loads(next((root / "alerts").glob("*.json")).read_text(encoding="utf-8"))
    assert stored["status"] == "Exercise"
    assert stored["texts"][0]["headline"] == "Evacúe el piso 3"


def test_usage_errors_exit_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["alert", "raise", "--template", "x"])  # neither --root nor --hub
    assert info.value.code == 2
    code, _, err = run(capsys, "clear", "--root", str(root / "nope"), "--all")
    assert code == 2 and "no such folder" in err


def test_an_unreachable_hub_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = run(capsys, "list", "--hub", f"http://127.0.0.1:{port}")
    assert out == ""
    assert code == 1
    assert err.strip() == (
        f"signage alert: cannot reach the hub at http://127.0.0.1:{port}: "
        "is 'signage serve' running there, and is the URL right?"
    )
